// The shared session contract on Symfony's PdoSessionHandler table: SQLite (transactional) and a
// PostgreSQL server started here (transactional and advisory).
import fs from 'node:fs';
import path from 'node:path';
import { SymfonyPdoSessionStore } from 'sessctl/symfony-pdo';
import { contractSuite } from '../../session/contract.js';
import { hasPostgres, sqlTestDatabases } from '../../helpers/postgres.js';
import { needPdo } from '../../helpers/env.js';

const { tmp, pg } = sqlTestDatabases('sessctl-contract-pdo-');
let n = 0;

/** @returns {Promise<any>} */
async function make(url, lockMode, settings) {
  const table = `s${n++}`;
  const store = new SymfonyPdoSessionStore({ url: url(), table, lockMode, ...settings });
  await store.createTable();
  const q = async (sql, params) => {
    const c = await store.db.connect();
    try {
      return await c.query(sql, params);
    } finally {
      await c.release();
    }
  };
  return {
    store,
    raw: async (id) => (await q(`SELECT sess_data FROM ${table} WHERE sess_id = ?`, [id]))[0]?.sess_data ?? null,
    plant: async (id, bytes) => {
      await q(`DELETE FROM ${table} WHERE sess_id = ?`, [id]);
      await q(`INSERT INTO ${table} VALUES (?, ?, ?, ?)`, [id, Buffer.from(bytes), Math.floor(Date.now() / 1000) + 1440, Math.floor(Date.now() / 1000)]);
    },
  };
}

contractSuite('symfony-pdo sqlite (transactional)', (settings = {}) => {
  const file = path.join(tmp, `db${n}.sqlite`);
  fs.writeFileSync(file, '');
  return make(() => `sqlite:${file}`, 'transactional', settings);
});
for (const mode of ['transactional', 'advisory']) {
  contractSuite(`symfony-pdo postgresql (${mode})`, (settings = {}) => make(() => pg.url, mode, settings), needPdo('pgsql', hasPostgres));
}
