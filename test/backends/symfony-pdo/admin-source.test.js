// The symfony-pdo admin source over tables Symfony's own PdoSessionHandler wrote (HttpFoundation
// 5.4 via fixtures/symfony/session.php), on SQLite and on a PostgreSQL server started here:
// entries, read, destroy and rewrite under the lock mode's lock, gc by the rows' own expiry time.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAdminSource, listSessions } from 'sessctl/admin';
import { SymfonyPdoSessionStore } from 'sessctl/symfony-pdo';
import { decodeSession, encodeSession } from 'sessctl';
import { hasPdoPgsql, hasSymfony, needPdo, needSymfony } from '../../helpers/env.js';
import { phpLines } from '../../helpers/php-lines.js';
import { hasPostgres, startPostgres } from '../../helpers/postgres.js';

const script = fileURLToPath(new URL('../../../fixtures/symfony/session.php', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-pdo-admin-'));
/** @type {{ url?: string, dsn?: string, stop?: () => Promise<void> }} */
const pg = {};
/** @type {ReturnType<typeof phpLines> | undefined} */
let php;
before(async () => {
  if (hasSymfony) php = phpLines(script);
  if (hasPostgres && hasPdoPgsql) Object.assign(pg, await startPostgres());
});
after(async () => {
  await php?.close();
  await pg.stop?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const DATABASES = {
  sqlite: () => {
    const file = path.join(tmp, `db${n++}.sqlite`);
    fs.writeFileSync(file, '');
    return { url: `sqlite:${file}`, php: { dsn: `sqlite:${file}` } };
  },
  postgresql: () => ({ url: /** @type {string} */ (pg.url), php: { dsn: pg.dsn, user: 'postgres' } }),
};

for (const [name, db] of Object.entries(DATABASES)) {
  const need = { ...needSymfony(), ...needPdo(name === 'sqlite' ? 'sqlite' : 'pgsql', name === 'sqlite' || hasPostgres) };
  describe(`symfony-pdo admin source on ${name}`, need, () => {
    /** @type {any} */
    let ctx;
    const ask = async (/** @type {string | null} */ id, /** @type {unknown[][]} */ ops) => {
      const r = /** @type {any} */ (await php?.ask({ op: 'request', handler: 'pdo', table: ctx.table, lockMode: 'transactional', ...ctx.php, id, ops }));
      assert.equal(r.error, undefined, r.message);
      return r;
    };
    before(async () => {
      const { url, php: where } = db();
      const table = `t${n++}`;
      const store = new SymfonyPdoSessionStore({ url, table });
      await store.createTable();
      await store.close();
      const source = await openAdminSource({ saveHandler: 'symfony-pdo', savePath: url, serializeHandler: 'php', maxlifetime: 1440, ini: { 'symfony.table': table } });
      ctx = { url, table, php: where, source };
      ctx.ann = (await ask(null, [['set', 'user', 'ann']])).id;
      ctx.bob = (await ask(null, [['set', 'user', 'bob']])).id;
    });
    after(async () => ctx?.source.close());

    test('entries and read: what Symfony wrote, decodable with its serialize handler', async () => {
      await ctx.source.check();
      const seen = [];
      for await (const e of ctx.source.entries({ withData: true })) seen.push(e);
      assert.deepEqual(seen.map((e) => e.id).sort(), [ctx.ann, ctx.bob].sort());
      const e = await ctx.source.read(ctx.ann);
      assert.equal(decodeSession(e.bytes, 'php').get('_sf2_attributes').get('user'), 'ann');
      assert.ok(Math.abs(e.mtimeMs - Date.now()) < 120_000);
      assert.equal(await ctx.source.read('nosuchsession0000000000000'), null);
      assert.throws(() => ctx.source.validateId('../etc'), /invalid session id/);
    });

    test('rewrite under the lock keeps sess_lifetime and sess_time; Symfony reads the change', async () => {
      const before = await ctx.source.read(ctx.bob);
      const out = await ctx.source.rewrite(
        ctx.bob,
        (/** @type {{ bytes: Uint8Array }} */ e) => {
          const d = decodeSession(e.bytes, 'php');
          d.get('_sf2_attributes').set('user', 'robert');
          return encodeSession(d, 'php');
        },
        { lockTimeoutMs: 5000 },
      );
      assert.equal(out, 'rewritten');
      assert.equal((await ctx.source.read(ctx.bob)).mtimeMs, before.mtimeMs);
      assert.equal((await ask(ctx.bob, [])).attributes.user, 'robert');
    });

    test("destroy waits for the lock mode's lock: a session held open is not destroyed meanwhile", async () => {
      const store = new SymfonyPdoSessionStore({ url: ctx.url, table: ctx.table });
      const h = await store.open(ctx.ann);
      try {
        await assert.rejects(ctx.source.destroy(ctx.ann, { lockTimeoutMs: 50 }), { code: 'ELOCKTIMEOUT' });
      } finally {
        await h.close();
        await store.close();
      }
      assert.equal(await ctx.source.destroy(ctx.ann, { lockTimeoutMs: 5000, onlyIf: () => false }), 'kept');
      assert.equal(await ctx.source.destroy(ctx.ann, { lockTimeoutMs: 5000 }), 'destroyed');
      assert.equal(await ctx.source.destroy(ctx.ann, { lockTimeoutMs: 5000 }), 'missing');
      assert.deepEqual((await ask(ctx.ann, [])).attributes, []); // Symfony finds nothing there either (PHP's empty array)
    });

    test('gc: rows whose sess_lifetime is past go (maxlifetime is not used); a held one is skipped, then collected', async () => {
      const old = (await ask(null, [['set', 'user', 'old']])).id;
      const held = (await ask(null, [['set', 'user', 'held']])).id;
      const store = new SymfonyPdoSessionStore({ url: ctx.url, table: ctx.table });
      const c = await store.db.connect();
      const now = Math.floor(Date.now() / 1000);
      await c.query(`UPDATE ${ctx.table} SET sess_lifetime = ? WHERE sess_id IN (?, ?)`, [now - 10, old, held]);
      await c.release();
      const h = await store.open(held, { lockTimeoutMs: 5000 });
      let report;
      try {
        // SQLite's transactional lock is the whole database: the held session blocks every row there.
        report = await ctx.source.gc({ maxlifetime: 1 });
      } finally {
        await h.close();
      }
      assert.equal(report.expired, 2);
      if (name === 'postgresql') {
        assert.equal(report.deleted, 1);
        assert.equal(await ctx.source.read(old), null);
      }
      assert.ok(report.skippedLocked >= 1);
      const again = await ctx.source.gc({ maxlifetime: 1 });
      assert.equal(again.expired, again.deleted);
      assert.equal(await ctx.source.read(held), null);
      assert.notEqual(await ctx.source.read(ctx.bob), null); // a live row: kept whatever maxlifetime says
      await store.close();
    });
  });
}

test('sqlite: a sess_time that is no time (text, beyond a Date) is listed as never expiring, not a crash', needPdo('sqlite', true), async () => {
  const { url } = DATABASES.sqlite();
  const store = new SymfonyPdoSessionStore({ url, table: 'odd_times' });
  await store.createTable();
  const settings = { saveHandler: 'symfony-pdo', savePath: url, serializeHandler: /** @type {const} */ ('php'), maxlifetime: 1440, ini: { 'symfony.table': 'odd_times' } };
  const source = await openAdminSource(settings);
  try {
    const now = Math.floor(Date.now() / 1000);
    await store.db.connect().then(async (c) => {
      try {
        for (const [id, time] of [['texttime', 'abc'], ['hugetime', 9223372036854775807n]]) {
          await c.query('INSERT INTO odd_times (sess_id, sess_data, sess_lifetime, sess_time) VALUES (?, ?, ?, ?)', [id, Buffer.from('a|i:1;'), now + 3600, time]);
        }
      } finally {
        await c.release();
      }
    });
    /** @type {any[]} */
    const listed = [];
    for await (const s of listSessions(source, settings)) listed.push(s);
    assert.deepEqual(listed.map((s) => [s.id, s.neverExpires, s.modified, s.keys]).sort(), [['hugetime', true, null, 1], ['texttime', true, null, 1]]);
  } finally {
    await source.close();
    await store.close();
  }
});
