// A throw-away PostgreSQL server for one test file: initdb into a temp dir (as the `postgres`
// user when we are root: initdb refuses root), pg_ctl start on a free loopback port with trust
// auth, stopped and removed by stop().
import { before, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => existsSync(join(d, 'initdb')));
export const hasPostgres = BIN !== undefined && (process.getuid() !== 0 || spawnSync('id', ['postgres']).status === 0);

function run(cmd, args) {
  const asRoot = process.getuid() === 0;
  const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(BIN, cmd), args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** @returns {Promise<{ port: number, url: string, dsn: string, stop(): Promise<void> }>} */
export async function startPostgres() {
  const dir = mkdtempSync(join(tmpdir(), 'sessctl-pg-'));
  if (process.getuid() === 0) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      run('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
    } catch (err) {
      if (attempt < 3) continue;
      throw err;
    }
    return {
      port,
      url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      dsn: `pgsql:host=127.0.0.1;port=${port};dbname=postgres`,
      async stop() {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
}

/**
 * What a SQL test file runs against: a temp dir for its SQLite files and, where PostgreSQL is
 * installed, one server for the whole file (started in before(), so `pg.url` is set only once
 * tests run; stopped, and the dir removed, in after()).
 * @param {string} prefix the temp dir's name prefix
 */
export function sqlTestDatabases(prefix) {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  /** @type {{ url?: string, stop?: () => Promise<void> }} */
  const pg = {};
  before(async () => {
    if (hasPostgres) Object.assign(pg, await startPostgres());
  });
  after(async () => {
    await pg.stop?.();
    rmSync(tmp, { recursive: true, force: true });
  });
  return { tmp, pg };
}
