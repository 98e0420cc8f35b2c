// The shared session contract on Laravel's sessions table: SQLite in a temp file and a
// PostgreSQL server started here.
import fs from 'node:fs';
import path from 'node:path';
import { LaravelDatabaseSessionStore } from 'sessctl/laravel-database';
import { contractSuite } from '../../session/contract.js';
import { hasPostgres, sqlTestDatabases } from '../../helpers/postgres.js';
import { needPdo } from '../../helpers/env.js';

const { tmp, pg } = sqlTestDatabases('sessctl-contract-laravel-db-');
let n = 0;

/** @returns {Promise<any>} */
async function make(url, settings) {
  const table = `sessions${n++}`;
  const store = new LaravelDatabaseSessionStore({ url, table, ...settings });
  await store.createTable();
  const q = (sql, params) => store.sessions.withConn((c) => c.query(sql, params));
  return {
    store,
    idPattern: /^[A-Za-z0-9]{40}$/,
    raw: async (id) => {
      const [r] = await q(`SELECT payload FROM ${table} WHERE id = ?`, [id]);
      return r ? Buffer.from(String(r.payload), 'base64') : null;
    },
    plant: async (id, bytes) => {
      await q(`DELETE FROM ${table} WHERE id = ?`, [id]);
      await q(`INSERT INTO ${table} (id, payload, last_activity) VALUES (?, ?, ?)`, [id, Buffer.from(bytes).toString('base64'), Math.floor(Date.now() / 1000)]);
    },
  };
}

contractSuite('laravel-database sqlite', (settings = {}) => {
  const file = path.join(tmp, `db${n}.sqlite`);
  fs.writeFileSync(file, '');
  return make(`sqlite:${file}`, settings);
});
contractSuite('laravel-database postgresql', (settings = {}) => make(pg.url, settings), needPdo('pgsql', hasPostgres));
