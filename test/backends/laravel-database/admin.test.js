// The laravel-database admin source, reached as the operator commands reach it (openAdminSource by
// save handler name): list, read, destroy, rewrite, put and gc under the row lock, encrypted payloads,
// and no password in what it says. SQLite in a temp file and a PostgreSQL server started here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeSession, LockTimeoutError } from 'sessctl';
import { openAdminSource, listSessions } from 'sessctl/admin';
import { LaravelDatabaseSessionStore, LaravelDatabaseAdminSource } from 'sessctl/laravel-database';
import { LaravelEncrypter, laravelPayloadCipher } from 'sessctl/laravel';
import { needPdo } from '../../helpers/env.js';
import { hasPostgres, sqlTestDatabases } from '../../helpers/postgres.js';

const { tmp, pg } = sqlTestDatabases('sessctl-laravel-db-admin-');

let n = 0;
async function setup(kind, { payloadCipher = undefined } = {}) {
  const table = `admin_${n++}`;
  let url = pg.url;
  if (kind === 'sqlite') {
    url = `sqlite:${path.join(tmp, `a${n}.sqlite`)}`;
    fs.writeFileSync(url.slice('sqlite:'.length), '');
  }
  const store = new LaravelDatabaseSessionStore({ url, table, lifetime: 120, payloadCipher });
  await store.createTable();
  const settings = { saveHandler: 'laravel-database', savePath: url, serializeHandler: /** @type {const} */ ('php_serialize'), maxlifetime: 7200, ini: { 'laravel.table': table } };
  const sql = (text, params) => store.sessions.withConn((c) => c.query(text, params));
  return { store, settings, table, sql };
}
const now = () => Math.floor(Date.now() / 1000);

for (const kind of /** @type {const} */ (['sqlite', 'pgsql'])) {
  const opts = kind === 'pgsql' ? needPdo('pgsql', hasPostgres) : {};

  test(`${kind}: listed, read, rewritten (last_activity kept), put and destroyed by save handler name`, opts, async () => {
    const { store, settings, table, sql } = await setup(kind);
    const source = await openAdminSource(settings);
    try {
      await source.check();
      const a = await store.createId();
      const b = await store.createId();
      await store.update(a, (d) => void d.set('user', 'ada'));
      await store.update(b, (d) => void d.set('user', 'bob'));
      const aged = now() - 100;
      await sql(`UPDATE ${table} SET last_activity = ? WHERE id = ?`, [aged, a]);
      const listed = [];
      for await (const s of listSessions(source, settings)) listed.push(s.id);
      assert.deepEqual(listed.sort(), [a, b].sort());
      const e = await source.read(a);
      assert.equal(e.location, `${table}:${a}`);
      assert.equal(e.mtimeMs, aged * 1000);
      assert.equal(e.size, Buffer.from(e.bytes).length);
      assert.equal(decodeSession(e.bytes, 'php_serialize').get('user'), 'ada');
      const sized = [];
      for await (const x of source.entries()) sized.push(x.size);
      assert.deepEqual(sized.sort(), [e.size, e.size].sort(), 'entries without data know the decoded size');

      assert.equal(await source.rewrite(a, () => Buffer.from('a:1:{s:4:"user";s:3:"eve";}'), { lockTimeoutMs: 1000 }), 'rewritten');
      assert.equal((await store.read(a)).get('user'), 'eve');
      assert.equal((await store.columns(a)).lastActivity, aged);

      const c = await store.createId();
      const expires = now() + 600;
      assert.equal(await source.put(c, Buffer.from('a:1:{s:1:"m";i:1;}'), { expiresAtMs: expires * 1000, lockTimeoutMs: 1000 }), 'written');
      assert.deepEqual(await store.columns(c), { userId: null, ipAddress: null, userAgent: null, lastActivity: expires - 7200 });
      assert.equal(await source.put(c, Buffer.from('a:0:{}'), { expiresAtMs: Date.now(), lockTimeoutMs: 1000 }), 'exists');

      assert.equal(await source.destroy(b, { lockTimeoutMs: 1000, onlyIf: () => false }), 'kept');
      assert.equal(await source.destroy(b, { lockTimeoutMs: 1000 }), 'destroyed');
      assert.equal(await source.destroy(b, { lockTimeoutMs: 1000 }), 'missing');
      await assert.rejects(source.read('../../etc/passwd'), { code: 'EINVALIDID' });
    } finally {
      await source.close();
      await store.close();
    }
  });

  test(`${kind}: a session a Node handle holds is not destroyed (lock timeout) and gc skips it; released, gc takes it`, opts, async () => {
    const { store, settings, table, sql } = await setup(kind);
    const source = new LaravelDatabaseAdminSource(settings);
    try {
      const held = await store.createId();
      await store.update(held, (d) => void d.set('x', 1));
      await sql(`UPDATE ${table} SET last_activity = ? WHERE id = ?`, [now() - 9000, held]);
      const h = await store.open(held);
      try {
        await assert.rejects(source.destroy(held, { lockTimeoutMs: 0 }), LockTimeoutError);
        const report = await source.gc({ maxlifetime: 7200 });
        assert.deepEqual({ expired: report.expired, deleted: report.deleted, skippedLocked: report.skippedLocked }, { expired: 1, deleted: 0, skippedLocked: 1 });
      } finally {
        await h.close();
      }
      assert.equal((await source.gc({ maxlifetime: 7200 })).deleted, 1);
      assert.equal(await source.read(held), null);
    } finally {
      await source.close();
      await store.close();
    }
  });

  test(`${kind}: encrypt => true: with the payloadCipher the entries hold the decrypted attributes; rewrites are sealed again`, opts, async () => {
    const payloadCipher = laravelPayloadCipher(new LaravelEncrypter({ key: `base64:${randomBytes(32).toString('base64')}` }));
    const { store, settings, table, sql } = await setup(kind, { payloadCipher });
    const source = new LaravelDatabaseAdminSource(settings, { payloadCipher });
    try {
      const id = await store.createId();
      await store.update(id, (d) => void d.set('secret', 'yes'));
      const [row] = await sql(`SELECT payload FROM ${table} WHERE id = ?`, [id]);
      assert.doesNotMatch(Buffer.from(String(row.payload), 'base64').toString('latin1'), /secret/);
      const e = await source.read(id);
      assert.equal(Buffer.from(e.bytes).toString('latin1'), 'a:1:{s:6:"secret";s:3:"yes";}');
      await source.rewrite(id, () => Buffer.from('a:1:{s:6:"secret";s:2:"no";}'), { lockTimeoutMs: 1000 });
      assert.equal((await store.read(id)).get('secret'), 'no');
    } finally {
      await source.close();
      await store.close();
    }
  });

  test(`${kind}: bad settings and a missing table are clear errors without the password`, opts, async () => {
    assert.throws(() => new LaravelDatabaseAdminSource({ saveHandler: 'laravel-database', savePath: 'sqlite:/x', serializeHandler: 'php_serialize', maxlifetime: 1, ini: { 'laravel.table': 'x; drop' } }), { code: 'ECONFIG' });
    assert.throws(() => new LaravelDatabaseSessionStore({ url: 'mysql://a/b' }), { code: 'ECONFIG' });
    const { settings, store } = await setup(kind);
    await store.close();
    const url = kind === 'pgsql' ? settings.savePath.replace('postgres@', 'postgres:hunter2@') : settings.savePath;
    const source = new LaravelDatabaseAdminSource({ ...settings, savePath: url, ini: { 'laravel.table': 'no_such_table' } });
    const noTable = new LaravelDatabaseSessionStore({ url, table: 'no_such_table' });
    const id = 'a'.repeat(40);
    try {
      for (const op of [() => noTable.read(id), () => noTable.open(id), () => noTable.exists(id)]) {
        await assert.rejects(op(), (/** @type {any} */ err) => err.code === 'EBACKEND' && err.message.includes('no_such_table') && !err.message.includes('hunter2'));
      }
      await assert.rejects(source.check(), (/** @type {any} */ err) => err.code === 'EBACKEND' && /no_such_table/.test(err.message) && !/hunter2/.test(err.message + source.description));
    } finally {
      await noTable.close();
      await source.close();
    }
  });
}

test('sqlite: a last_activity that is no time (text, beyond a Date) is listed as never expiring, not a crash; gc leaves it as Laravel does', async () => {
  const { store, settings, table, sql } = await setup('sqlite');
  const source = await openAdminSource(settings);
  try {
    const ids = { text: 'a'.repeat(40), huge: 'b'.repeat(40), old: 'c'.repeat(40) };
    const payload = Buffer.from('a:1:{s:1:"a";i:1;}').toString('base64');
    // SQLite keeps text as text in an INTEGER column, and integers up to 2^63.
    for (const [id, last] of [[ids.text, 'abc'], [ids.huge, 9223372036854775807n], [ids.old, -5]]) {
      await sql(`INSERT INTO ${table} (id, payload, last_activity) VALUES (?, ?, ?)`, [id, payload, last]);
    }
    /** @type {any[]} */
    const listed = [];
    for await (const s of listSessions(source, settings)) listed.push(s);
    const by = Object.fromEntries(listed.map((s) => [s.id, s]));
    assert.deepEqual(Object.keys(by).sort(), Object.values(ids).sort());
    for (const id of [ids.text, ids.huge]) assert.deepEqual([by[id].neverExpires, by[id].modified], [true, null], id);
    assert.equal(by[ids.old].modified, '1969-12-31T23:59:55.000Z');
    // DatabaseSessionHandler::gc's `last_activity <= ?` is never true for text or 2^63 - 1.
    const report = await source.gc({ maxlifetime: 7200 });
    assert.equal(report.deleted, 1);
    assert.deepEqual((await sql(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id), [ids.text, ids.huge]);
  } finally {
    await source.close();
    await store.close();
  }
});

test('sqlite: a payload is base64-decoded as PHP base64_decode() does (junk and "=" skipped, no base64url)', async () => {
  const { store, table, sql } = await setup('sqlite');
  try {
    // What php -r 'var_dump(base64_decode($s));' gives for each (PHP 8.2).
    const rows = {
      ['n'.repeat(40)]: 'YToxOntz-OjE6ImEi\nO2k6MTt9', // a:1:{s:1:"a";i:1;}
      ['p'.repeat(40)]: 'YToxOntz=OjE6ImEiO2k6MTt9', // a:1:{s:1:"a";i:1;}
      ['u'.repeat(40)]: 'YToxOntzOjE6ImEiO3M6Mzoi-_-_Ijt9', // a:1:{s:1:"a";s:3:"";} — no session for Laravel
    };
    for (const [id, payload] of Object.entries(rows)) await sql(`INSERT INTO ${table} (id, payload, last_activity) VALUES (?, ?, ?)`, [id, payload, now()]);
    assert.equal((await store.read('n'.repeat(40)))?.get('a'), 1);
    assert.equal((await store.read('p'.repeat(40)))?.get('a'), 1);
    await assert.rejects(store.read('u'.repeat(40)), { code: 'EDECODE' });
  } finally {
    await store.close();
  }
});
