// session.serialize_handler = igbinary on files: 3 PHP processes and 3 Node processes increment
// one session at once (1,020 increments); none is lost, and what is stored is igbinary.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needPhp, runPhp } from '../../helpers/env.js';
import { removeDir, tempDir } from '../../helpers/cli.js';
import { iniArgs, nodeIncrementer, phpAsync, PHP_INCREMENT } from '../../helpers/php-run.js';

const dir = tempDir('igbrace');
after(() => removeDir(dir));
const K = 170;
const ini = { 'session.save_path': dir, 'session.serialize_handler': 'igbinary', 'session.use_strict_mode': '0' };

test(`igbinary on files: PHP ×3 and Node ×3, ${6 * K} increments, none lost`, needPhp(), async () => {
  const id = 'igbfilesrace000000000000000000001';
  const make = `new m.FileSessionStore({ savePath: rest[0], serializeHandler: 'igbinary' })`;
  const jobs = [];
  for (let i = 0; i < 3; i++) jobs.push(phpAsync(ini, PHP_INCREMENT, [id, String(K)]));
  for (let i = 0; i < 3; i++) jobs.push(nodeIncrementer(import.meta.resolve('sessctl/files'), make, [id, String(K), dir]));
  for (const r of await Promise.all(jobs)) assert.equal(r.code, 0, r.stderr);
  assert.equal(runPhp([...iniArgs(ini), '-r', `session_id($argv[1]); session_start(); echo $_SESSION['n'];`, '--', id]).toString(), String(6 * K));
  assert.deepEqual([...readFileSync(join(dir, `sess_${id}`)).subarray(0, 4)], [0, 0, 0, 2], 'igbinary header');
});
