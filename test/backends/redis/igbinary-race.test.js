// session.serialize_handler = igbinary on Redis (phpredis locking on): 3 PHP processes and 3 Node
// processes increment one session at once (1,020 increments); none is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needRedis, runPhp } from '../../helpers/env.js';
import { iniArgs, nodeIncrementer, phpAsync, PHP_INCREMENT } from '../../helpers/php-run.js';
import { useRedisServer } from '../../helpers/redis-server.js';

const { server: redis, store } = useRedisServer();
const K = 170;
const ini = () => ({
  'session.save_handler': 'redis',
  'session.save_path': redis.url,
  'session.serialize_handler': 'igbinary',
  'session.use_strict_mode': '0',
  'redis.session.locking_enabled': '1',
  'redis.session.lock_expire': '10',
  'redis.session.lock_retries': '-1',
  'redis.session.lock_wait_time': '1000',
});

test(`igbinary on Redis: PHP ×3 and Node ×3, ${6 * K} increments, none lost`, needRedis(), async () => {
  const id = 'igbredisrace00000000000000000001';
  const make = `new m.RedisSessionStore({ savePath: rest[0], serializeHandler: 'igbinary', locking: true, lockWaitTimeUs: 1000, lockRetries: -1, lockExpireSeconds: 10 })`;
  const jobs = [];
  for (let i = 0; i < 3; i++) jobs.push(phpAsync(ini(), PHP_INCREMENT, [id, String(K)]));
  for (let i = 0; i < 3; i++) jobs.push(nodeIncrementer(import.meta.resolve('sessctl/redis'), make, [id, String(K), redis.url]));
  for (const r of await Promise.all(jobs)) assert.equal(r.code, 0, r.stderr);
  assert.equal(runPhp([...iniArgs(ini()), '-r', `session_id($argv[1]); session_start(); echo $_SESSION['n'];`, '--', id]).toString(), String(6 * K));
  const bytes = await store().readBytes(id);
  assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 0, 2], 'igbinary header');
});
