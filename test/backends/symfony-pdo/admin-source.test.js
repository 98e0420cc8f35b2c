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

/** A SQLite table of symfony-pdo rows as given ([id, sess_lifetime, sess_time]), and its admin source. */
async function oddTable(/** @type {string} */ table, /** @type {[string, unknown, unknown][]} */ rows) {
  const { url } = DATABASES.sqlite();
  const store = new SymfonyPdoSessionStore({ url, table });
  await store.createTable();
  const settings = { saveHandler: 'symfony-pdo', savePath: url, serializeHandler: /** @type {const} */ ('php'), maxlifetime: 1440, ini: { 'symfony.table': table } };
  const c = await store.db.connect();
  try {
    for (const [id, lifetime, time] of rows) await c.query(`INSERT INTO ${table} (sess_id, sess_data, sess_lifetime, sess_time) VALUES (?, ?, ?, ?)`, [id, Buffer.from('a|i:1;'), lifetime, time]);
  } finally {
    await c.release();
  }
  await store.close();
  return { settings, source: await openAdminSource(settings) };
}

const listAll = async (/** @type {any} */ source, /** @type {any} */ settings) => {
  /** @type {any[]} */
  const listed = [];
  for await (const s of listSessions(source, settings)) listed.push(s);
  return listed.sort((a, b) => (a.id < b.id ? -1 : 1));
};

test('sqlite: a time that is no date (text, beyond a Date) is not a crash; a row expires by sess_lifetime whatever sess_time holds', needPdo('sqlite', true), async () => {
  const now = Math.floor(Date.now() / 1000);
  const { settings, source } = await oddTable('odd_times', [
    ['hugetime', now + 3600, 9223372036854775807n],
    ['texttime', now + 3600, 'abc'],
    ['textlifetime', 'abc', now],
    ['hugelifetime', 9223372036854775807n, now],
  ]);
  try {
    const listed = await listAll(source, settings);
    // Symfony's gc (`sess_lifetime < :time`) never passes text or 2^63 - 1: those rows stay for ever.
    assert.deepEqual(
      listed.filter((s) => s.neverExpires).map((s) => [s.id, s.modified, s.expiresInSeconds, s.keys]),
      [['hugelifetime', null, null, 1], ['textlifetime', null, null, 1]],
    );
    // A real sess_lifetime decides; the unknown last write stands maxlifetime before it (as for a Redis TTL).
    for (const s of listed.filter((x) => !x.neverExpires)) {
      assert.ok(s.expiresInSeconds >= 3598 && s.expiresInSeconds <= 3600, `${s.id}: ${s.expiresInSeconds}`);
      assert.equal(s.modified, new Date((now + 3600 - 1440) * 1000).toISOString());
    }
    assert.deepEqual(listed.filter((s) => !s.neverExpires).map((s) => s.id), ['hugetime', 'texttime']);
  } finally {
    await source.close();
  }
});

test('symfony-pdo: list, inspect and stats count "expires in" from the row\'s sess_lifetime (and a legacy lifetime), as its gc does, not from gc_maxlifetime', needPdo('sqlite', true), async () => {
  const now = Math.floor(Date.now() / 1000);
  const { settings, source } = await oddTable('own_lifetimes', [
    ['shortlived', now + 50, now - 100], // written 100 s ago with a 150 s lifetime: gc_maxlifetime (1440) would say 1340 s left
    ['legacy', 600, now - 100], // a lifetime at or below Symfony's MAX_LIFETIME: expires at sess_time + 600
    ['gone', now - 5, now - 10], // young by sess_time, but past its sess_lifetime: gc deletes it
  ]);
  try {
    const listed = await listAll(source, settings);
    const left = Object.fromEntries(listed.map((s) => [s.id, s.expiresInSeconds]));
    assert.ok(left.shortlived >= 48 && left.shortlived <= 50, String(left.shortlived));
    assert.ok(left.legacy >= 498 && left.legacy <= 500, String(left.legacy));
    assert.ok(left.gone < 0, String(left.gone));
    assert.equal(listed.find((s) => s.id === 'shortlived').modified, new Date((now - 100) * 1000).toISOString());
    const { inspectSession, sessionStats } = await import('sessctl/admin');
    const one = await inspectSession(source, settings, 'shortlived');
    assert.ok(/** @type {number} */ (one.expiresInSeconds) <= 50, String(one.expiresInSeconds));
    const stats = await sessionStats(source, settings);
    assert.equal(stats.expired, 1);
    // migrate carries that expiry: a files target's mtime is set so that its gc takes it at the same time
    const { migrateSessions } = await import('sessctl/admin');
    const dir = fs.mkdtempSync(path.join(tmp, 'to-files-'));
    const target = await openAdminSource({ saveHandler: 'files', savePath: dir, serializeHandler: 'php', maxlifetime: 1440 });
    try {
      const moved = await migrateSessions(source, settings, target);
      assert.deepEqual([moved.moved, moved.expired], [2, 1]);
      const mtime = fs.statSync(path.join(dir, 'sess_shortlived')).mtimeMs / 1000;
      assert.ok(Math.abs(mtime - (now + 50 - 1440)) <= 2, `${mtime} vs ${now + 50 - 1440}`);
    } finally {
      await target.close();
    }
    // and gc agrees: exactly the one counted expired goes
    const report = await source.gc({ maxlifetime: settings.maxlifetime });
    assert.equal(report.deleted, 1);
    assert.deepEqual((await listAll(source, settings)).map((s) => s.id), ['legacy', 'shortlived']);
  } finally {
    await source.close();
  }
});
