// The session contract suite: the same tests, unchanged, against every backend (files,
// redis, memory). A backend folder passes it or it is not a backend. Each caller supplies a
// factory `make(settings)` returning { store, raw, plant, cleanup? }:
//   raw(id)          the stored bytes (Buffer) or null,
//   plant(id, bytes) stores bytes as they are (corrupt or oversized data), without a lock,
//   idPattern        (optional) what createId() makes when it is not PHP's rule (Laravel: 40 alphanumerics).
// Stored bytes are compared in the store's own serialize handler (php by default).
//   age(id, seconds) makes a session look last written that long ago (only for backends
//                    with collectGarbage; the others expire sessions themselves).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhpArray, ClassRegistry, DecodeError, LockTimeoutError, InvalidSessionIdError, ConfigError, encodeSession } from 'sessctl';

class Cart {
  /** @param {any} [items] a PhpArray once decoded (the registry does not run this constructor) */
  constructor(items = []) {
    this.items = items;
  }
  total() {
    return this.items.size;
  }
}

let n = 0;
// 40 alphanumerics: valid for PHP's rule and for Laravel's (exactly 40, [A-Za-z0-9]).
const freshId = () => `contract${String(++n).padStart(6, '0')}abcdefghijklmnopqrstuvwxyz`;
/** The session bytes of `entries` ([key, serialized value] pairs) in the store's handler. */
const sessionBytes = (store, entries) =>
  Buffer.from(
    store.settings.serializeHandler === 'php_serialize'
      ? `a:${entries.length}:{${entries.map(([k, v]) => `s:${k.length}:"${k}";${v}`).join('')}}`
      : entries.map(([k, v]) => `${k}|${v}`).join(''),
    'latin1',
  );

/**
 * @param {string} name
 * @param {(settings?: object) => Promise<{ store: import('sessctl').SessionBackend, raw(id: string): Promise<Buffer|null>, plant(id: string, bytes: Uint8Array): Promise<void>, cleanup?(): Promise<void> }>} make
 */
export function contractSuite(name, make, testOptions = {}) {
  const withStore = (settings, fn) => async () => {
    const b = await make(settings);
    try {
      await fn(b);
    } finally {
      await b.store.close?.();
      await b.cleanup?.();
    }
  };

  test(`${name}: open, change, save, close; read and update see it; exact PHP bytes stored`, testOptions, withStore({}, async ({ store, raw }) => {
    const id = freshId();
    const h = await store.open(id);
    assert.equal(h.id, id);
    assert.equal(h.isNew, true);
    assert.equal(h.data.size, 0);
    h.data.set('user', PhpArray.of('ada', 42));
    h.data.set('visits', 1);
    await h.save();
    await h.close();
    assert.deepEqual(await raw(id), sessionBytes(store, [['user', 'a:2:{i:0;s:3:"ada";i:1;i:42;}'], ['visits', 'i:1;']]));
    const read = await store.read(id);
    assert.equal(read.get('visits'), 1);
    const written = await store.update(id, (data) => {
      data.set('visits', data.get('visits') + 1);
    });
    assert.equal(written.get('visits'), 2);
    assert.equal((await store.read(id)).get('visits'), 2);
    assert.equal(await store.exists(id), true);
    const again = await store.open(id);
    assert.equal(again.isNew, false);
    await again.close();
  }));

  test(`${name}: a missing session reads as null and is not created by read(); touch() is false`, testOptions, withStore({}, async ({ store, raw }) => {
    const id = freshId();
    assert.equal(await store.read(id), null);
    assert.equal(await raw(id), null);
    assert.equal(await store.exists(id), false);
    assert.equal(await store.touch(id), false);
    assert.equal(await store.destroy(id), false);
  }));

  test(`${name}: lazy write keeps unchanged bytes; lazyWrite:false writes them again`, testOptions, withStore({}, async ({ store, raw }) => {
    const id = freshId();
    await store.update(id, (d) => void d.set('a', 1));
    const before = await raw(id);
    await store.update(id, () => {});
    assert.deepEqual(await raw(id), before);
  }));

  test(`${name}: destroy under the lock; handle.destroy(); ids() lists what exists`, testOptions, withStore({}, async ({ store }) => {
    const a = freshId();
    const b = freshId();
    await store.update(a, (d) => void d.set('x', 1));
    await store.update(b, (d) => void d.set('x', 2));
    const ids = [];
    for await (const id of store.ids()) ids.push(id);
    assert.ok(ids.includes(a) && ids.includes(b));
    assert.equal(await store.destroy(a), true);
    assert.equal(await store.exists(a), false);
    const h = await store.open(b);
    await h.destroy();
    assert.equal(await store.exists(b), false);
  }));

  test(`${name}: the lock excludes a second opener until close, which then sees the first one's write`, testOptions, withStore({}, async ({ store }) => {
    const id = freshId();
    const h1 = await store.open(id);
    await assert.rejects(store.open(id, { lockTimeoutMs: 50 }), LockTimeoutError);
    const second = store.open(id, { lockTimeoutMs: 20000 });
    h1.data.set('by', 'first');
    await h1.save();
    await h1.close();
    const h2 = await second;
    assert.equal(h2.data.get('by'), 'first');
    await h2.close();
  }));

  test(`${name}: saveAndClose writes and releases in one step; lazy write still applies`, testOptions, withStore({}, async ({ store, raw }) => {
    const id = freshId();
    const h = await store.open(id);
    h.data.set('k', 'v');
    await h.saveAndClose();
    const stored = sessionBytes(store, [['k', 's:1:"v";']]);
    assert.deepEqual(await raw(id), stored);
    const again = await store.open(id, { lockTimeoutMs: 0 }); // released
    await again.saveAndClose(); // unchanged: nothing rewritten, lock released
    assert.deepEqual(await raw(id), stored);
    await (await store.open(id, { lockTimeoutMs: 0 })).close();
  }));

  test(`${name}: readAndClose reads and releases the lock at once`, testOptions, withStore({}, async ({ store }) => {
    const id = freshId();
    await store.update(id, (d) => void d.set('k', 'v'));
    const h = await store.open(id, { readAndClose: true });
    assert.equal(h.data.get('k'), 'v');
    const other = await store.open(id, { lockTimeoutMs: 0 });
    await other.close();
  }));

  test(`${name}: createId makes unused ids of the configured shape; EIDCOLLISION when every try is taken`, testOptions, withStore({ sidLength: 26, sidBitsPerCharacter: 5 }, async ({ store, idPattern }) => {
    const id = await store.createId();
    assert.match(id, idPattern ?? /^[0-9a-v]{26}$/);
    assert.equal(store.isValidId(id), true);
    store.exists = async () => true;
    await assert.rejects(store.createId(), { code: 'EIDCOLLISION' });
  }));

  test(`${name}: strict mode (the default) never adopts an unknown id; an existing one is used`, testOptions, withStore({}, async ({ store }) => {
    assert.equal(store.settings.useStrictMode, true);
    const unknown = freshId();
    const h = await store.start(unknown);
    assert.notEqual(h.id, unknown);
    assert.equal(await store.exists(unknown), false);
    h.data.set('x', 1); // an empty new session is not stored by every backend (PHP's lazy write)
    await h.save();
    await h.close();
    const again = await store.start(h.id);
    assert.equal(again.id, h.id);
    await again.close();
    const bad = await store.start('../../etc/passwd');
    assert.notEqual(bad.id, '../../etc/passwd');
    await bad.close();
  }));

  test(`${name}: openExisting (where the backend has it) opens only stored sessions, creates nothing, and locks like open`, testOptions, withStore({}, async ({ store }) => {
    if (!store.openExisting) return;
    const unknown = freshId();
    assert.equal(await store.openExisting(unknown), null);
    assert.equal(await store.exists(unknown), false, 'nothing was created for an unknown id');
    assert.equal(await store.openExisting('../../etc/passwd'), null);
    await store.update(unknown, (d) => void d.set('n', 1));
    const h = /** @type {import('sessctl').SessionHandle} */ (await store.openExisting(unknown));
    assert.equal(h.isNew, false);
    assert.equal(h.data.get('n'), 1);
    await assert.rejects(store.open(unknown, { lockTimeoutMs: 50 }), (e) => /** @type {any} */ (e).name === 'LockTimeoutError', 'held under the lock');
    h.data.set('n', 2);
    await h.save();
    await h.close();
    assert.equal((await store.read(unknown))?.get('n'), 2);
  }));

  test(`${name}: openExistingNow / saveAndCloseNow (where the backend has them) agree with openExisting / saveAndClose, or say they would wait`, testOptions, withStore({}, async ({ store }) => {
    if (!store.openExistingNow) return;
    const unknown = freshId();
    if (/** @type {any} */ (store).io === 'async') {
      // Thread-pool I/O never finishes at once: always "use openExisting()", nothing taken.
      await store.update(unknown, (d) => void d.set('n', 1));
      assert.equal(store.openExistingNow(unknown), undefined);
      await (await store.open(unknown, { lockTimeoutMs: 0 })).close();
      return;
    }
    assert.equal(store.openExistingNow(unknown), null);
    assert.equal(await store.exists(unknown), false, 'nothing was created for an unknown id');
    assert.equal(store.openExistingNow('../../etc/passwd'), null);
    await store.update(unknown, (d) => void d.set('n', 1));
    const h = store.openExistingNow(unknown);
    assert.ok(h, 'a stored session with a free lock opens at once');
    assert.equal(h.isNew, false);
    assert.equal(h.data.get('n'), 1);
    // Held: a second synchronous open would have to wait, so it takes nothing and says so.
    assert.equal(store.openExistingNow(unknown), undefined);
    await assert.rejects(store.open(unknown, { lockTimeoutMs: 50 }), (e) => /** @type {any} */ (e).name === 'LockTimeoutError', 'held under the lock');
    h.data.set('n', 2);
    if (h.saveAndCloseNow) assert.equal(h.saveAndCloseNow(), true, 'written and released at once');
    else await h.saveAndClose?.();
    assert.equal((await store.read(unknown))?.get('n'), 2);
    const again = store.openExistingNow(unknown);
    assert.ok(again, 'released: opens at once again');
    if (again.saveAndCloseNow) {
      assert.equal(again.saveAndCloseNow(), true, 'unchanged: lazy write, released');
      assert.equal(again.saveAndCloseNow(), false, 'closed: nothing done');
    } else await again.close();
    await (await store.open(unknown, { lockTimeoutMs: 0 })).close();
  }));

  test(`${name}: strict mode off adopts a valid unknown id`, testOptions, withStore({ useStrictMode: false }, async ({ store }) => {
    const unknown = freshId();
    const h = await store.start(unknown);
    assert.equal(h.id, unknown);
    await h.close();
  }));

  test(`${name}: invalid ids are refused before any storage is touched`, testOptions, withStore({}, async ({ store }) => {
    for (const bad of ['../x', 'a/b', '', 'x'.repeat(257), 'a\0b', 'sp ace']) {
      assert.equal(store.isValidId(bad), false, bad);
      assert.equal(await store.exists(bad), false);
      await assert.rejects(store.open(bad), InvalidSessionIdError);
      await assert.rejects(store.read(bad), InvalidSessionIdError);
      await assert.rejects(store.destroy(bad), InvalidSessionIdError);
    }
  }));

  test(`${name}: corrupt stored bytes → DecodeError naming where; nothing is changed; the lock is released`, testOptions, withStore({}, async ({ store, raw, plant }) => {
    const id = freshId();
    const corrupt = sessionBytes(store, [['a', 's:99:"short";']]);
    await plant(id, corrupt);
    await assert.rejects(store.open(id), (e) => e instanceof DecodeError && e.message.includes(id));
    await assert.rejects(store.read(id), DecodeError);
    assert.deepEqual(await raw(id), corrupt);
    await assert.rejects(store.open(id, { lockTimeoutMs: 0 }), DecodeError); // not LockTimeoutError: nothing held
  }));

  test(`${name}: a stored session above maxBytes is refused without being decoded (ETOOBIG)`, testOptions, withStore({ maxBytes: 64 }, async ({ store, raw, plant }) => {
    const id = freshId();
    const big = Buffer.from(`a|s:100:"${'x'.repeat(100)}";`);
    await plant(id, big);
    await assert.rejects(store.open(id), { code: 'ETOOBIG' });
    assert.deepEqual(await raw(id), big);
  }));

  test(`${name}: decodeOptions and encodeOptions carry one ClassRegistry: a mapped object opens AND saves`, testOptions, async () => {
    const classes = new ClassRegistry().register('Cart', Cart);
    const b = await make({ decodeOptions: { classes }, encodeOptions: { classes } });
    try {
      const id = freshId();
      await b.plant(id, sessionBytes(b.store, [['cart', 'O:4:"Cart":1:{s:5:"items";a:1:{i:0;s:3:"sku";}}']]));
      const h = await b.store.open(id);
      const cart = h.data.get('cart');
      assert.ok(cart instanceof Cart);
      assert.equal(cart.total(), 1);
      cart.items.push('sku2');
      await h.save();
      await h.close();
      assert.deepEqual(await b.raw(id), sessionBytes(b.store, [['cart', 'O:4:"Cart":1:{s:5:"items";a:2:{i:0;s:3:"sku";i:1;s:4:"sku2";}}']]));
    } finally {
      await b.store.close?.();
      await b.cleanup?.();
    }
  });

  test(`${name}: the serialize handler is honoured; shared settings are validated the same way`, testOptions, async () => {
    const b = await make({ serializeHandler: 'php_serialize' });
    try {
      const id = freshId();
      await b.store.update(id, (d) => void d.set('n', 1));
      assert.deepEqual(await b.raw(id), encodeSession({ n: 1 }, 'php_serialize'));
    } finally {
      await b.store.close?.();
      await b.cleanup?.();
    }
    for (const bad of [{ gcMaxlifetime: 0 }, { gcMaxlifetime: 1.5 }, { serializeHandler: 'json' }, { sidLength: 10 }, { sidBitsPerCharacter: 7 }, { lockTimeoutMs: -1 }, { maxBytes: 0 }, { useStrictMode: 'yes' }, { gcProbability: -1 }, { gcDivisor: 0 }, { gcProbability: 0.5 }]) {
      await assert.rejects(make(bad), ConfigError, JSON.stringify(bad));
    }
  });

  test(`${name}: regenerateId moves the data to a fresh id under the lock`, testOptions, withStore({}, async ({ store }) => {
    const id = freshId();
    const h = await store.open(id);
    h.data.set('v', 7);
    const next = await h.regenerateId(true);
    assert.notEqual(next, id);
    assert.equal(h.id, next);
    await h.save();
    await h.close();
    assert.equal(await store.exists(id), false);
    assert.equal((await store.read(next)).get('v'), 7);
  }));

  test(`${name}: collectGarbage deletes what is older than gcMaxlifetime, keeps fresh and locked sessions; absent where the storage expires sessions`, testOptions, withStore({ gcMaxlifetime: 600 }, async ({ store, age }) => {
    if (store.collectGarbage === undefined) {
      assert.equal(age, undefined, 'a backend without collectGarbage needs no age helper');
      return; // Redis / Memcached: the server expires keys by their TTL, as for PHP
    }
    const [old1, old2, held, fresh, edge] = [freshId(), freshId(), freshId(), freshId(), freshId()];
    for (const id of [old1, old2, held, fresh, edge]) await store.update(id, (d) => void d.set('id', id));
    for (const id of [old1, old2, held]) await age(id, 3600);
    await age(edge, 590); // younger than gcMaxlifetime: kept
    const handle = await store.open(held);
    await age(held, 3600); // held and old: skipped, as sessctl gc skips it
    try {
      const report = await store.collectGarbage();
      assert.equal(report.deleted, 2);
      assert.equal(report.skippedLocked, 1);
      assert.equal(report.errors, 0);
      assert.equal(report.maxlifetime, 600);
    } finally {
      await handle.close();
    }
    assert.deepEqual(await Promise.all([old1, old2, held, fresh, edge].map((id) => store.exists(id))), [false, false, true, true, true]);
    assert.equal((await store.read(held)).get('id'), held, 'the held session is intact');
    const again = await store.collectGarbage();
    assert.equal(again.deleted, 1, 'released, the old session goes on the next collection');
  }));
}
