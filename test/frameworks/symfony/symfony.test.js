// Symfony's own Session, NativeSessionStorage, NativeFileSessionHandler and PdoSessionHandler
// (Debian's php-symfony-http-foundation 5.4, driven by fixtures/symfony/session.php) against
// sessctl/symfony's bags over the files backend and the symfony-pdo backend (SQLite, PostgreSQL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toPlain } from 'sessctl';
import { FileSessionStore } from 'sessctl/files';
import { SymfonyPdoSessionStore } from 'sessctl/symfony-pdo';
import { SymfonySessionView } from 'sessctl/symfony';
import { hasSymfony, needSymfony, needPdo, hasPdoPgsql } from '../../helpers/env.js';
import { phpLines } from '../../helpers/php-lines.js';
import { hasPostgres, startPostgres } from '../../helpers/postgres.js';

const script = fileURLToPath(new URL('../../../fixtures/symfony/session.php', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-symfony-'));
const pg = {};
// One PHP process per kind of handler, so one's ini settings never leak into the other's requests.
const phps = {};
const php = { ask: (q) => (phps[q.handler] ??= phpLines(script)).ask(q) };
before(async () => {
  if (hasPostgres && hasPdoPgsql) Object.assign(pg, await startPostgres());
});
after(async () => {
  for (const p of Object.values(phps)) await p.close();
  await pg.stop?.();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const storages = {
  files: async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'files-'));
    return { store: new FileSessionStore({ savePath: dir }), php: { handler: 'files', savePath: dir } };
  },
  'pdo sqlite': async (/** @type {import('sessctl/symfony-pdo').PdoLockMode} */ lockMode = 'transactional') => {
    const file = path.join(tmp, `db${n++}.sqlite`);
    fs.writeFileSync(file, '');
    const store = new SymfonyPdoSessionStore({ url: `sqlite:${file}`, lockMode });
    await store.createTable();
    return { store, php: { handler: 'pdo', dsn: `sqlite:${file}`, table: 'sessions', lockMode } };
  },
  'pdo postgresql': async (/** @type {import('sessctl/symfony-pdo').PdoLockMode} */ lockMode = 'transactional') => {
    const table = `sf${n++}`;
    const store = new SymfonyPdoSessionStore({ url: pg.url, table, lockMode });
    await store.createTable();
    return { store, php: { handler: 'pdo', dsn: pg.dsn, user: 'postgres', table, lockMode } };
  },
};
const need = (name) => ({ ...needSymfony(), ...(name === 'pdo sqlite' ? needPdo('sqlite') : name === 'pdo postgresql' ? needPdo('pgsql', hasPostgres) : {}) });

for (const [name, make] of Object.entries(storages)) {
  test(`${name}: Symfony writes through its bags; Node reads and changes them; Symfony reads the change`, need(name), async () => {
    const { store, php: where } = await make();
    try {
      const first = await php.ask({ op: 'request', ...where, id: null, ops: [['set', 'cart', ['a', 'b']], ['set', 'user_id', 42], ['addFlash', 'notice', 'Saved!']] });
      assert.equal(first.error, undefined, first.message);
      const data = await store.read(first.id);
      const s = new SymfonySessionView(data);
      assert.equal(s.get('user_id'), 42);
      assert.deepEqual(toPlain(s.get('cart')), ['a', 'b']);
      assert.deepEqual(s.peekFlashes('notice'), ['Saved!']);
      assert.equal(s.metadata.created, first.meta.c);

      const before = s.metadata.lastUsed;
      await store.update(first.id, (d) => {
        const v = new SymfonySessionView(d);
        v.set('from_node', { visits: 2 });
        assert.deepEqual(v.getFlashes('notice'), ['Saved!']); // shown once: gone for Symfony too
        v.addFlash('warning', 'from node');
        v.touch(before + 5);
      });
      const second = await php.ask({ op: 'request', ...where, id: first.id, ops: [['getFlash', 'warning']] });
      assert.equal(second.id, first.id);
      assert.deepEqual(second.attributes.from_node, { visits: 2 });
      assert.equal(second.attributes.user_id, 42);
      assert.deepEqual(second.got, ['from node']);
      assert.deepEqual(Object.keys(second.flashes), []);
    } finally {
      await store.close();
    }
  });
}

const RACERS = 600; // per side: 1,200 increments in all
for (const [name, modes] of [['pdo sqlite', ['transactional']], ['pdo postgresql', ['transactional', 'advisory']]]) {
  for (const mode of modes) {
    test(`${name} (${mode}): ${RACERS} Symfony and ${RACERS} Node increments racing on one session lose none`, need(name), async () => {
      const { store, php: where } = await storages[name](mode);
      try {
        const { id } = await php.ask({ op: 'request', ...where, id: null, ops: [['set', 'n', 0]] });
        const symfony = php.ask({ op: 'increments', ...where, id, n: RACERS, key: 'n' });
        for (let i = 0; i < RACERS; i++) {
          await store.update(id, (d) => {
            const v = new SymfonySessionView(d);
            v.set('n', v.get('n') + 1);
          });
        }
        assert.equal((await symfony).done, RACERS);
        assert.equal(new SymfonySessionView(await store.read(id)).get('n'), 2 * RACERS);
      } finally {
        await store.close();
      }
    });
  }
}
