// phpredis over a unix socket (`unix:///path?database=…&prefix=…`): the socket path is taken as
// written, as PHP's URL parser does — a `%41` in it is those three characters, not an "A".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needRedis, runPhp, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';
import { RedisSessionStore, parseRedisSavePath } from 'sessctl/redis';

const enabled = hasRedisServer && hasPhpRedis;
/** @type {any} */
let redis;
/** @type {string} */
let dir;
/** @type {string} */
let savePath;

before(async () => {
  if (!enabled) return;
  dir = mkdtempSync(join(tmpdir(), 'sessctl-sock-'));
  // a file name with what looks like a %-escape in it
  redis = await startRedis({ extraArgs: ['--unixsocket', join(dir, 'r%41.sock'), '--unixsocketperm', '700'] });
  savePath = `unix://${join(dir, 'r%41.sock')}?database=2&prefix=u%3A`;
});
after(async () => {
  if (redis) await redis.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a unix socket path is not %-decoded (as in PHP)', () => {
  assert.equal(parseRedisSavePath('unix:///run/my%20redis.sock?database=1').servers[0].socketPath, '/run/my%20redis.sock');
});

test('PHP and we meet on the socket PHP uses, in its database, under its prefix', needRedis(), async () => {
  const php = (/** @type {string} */ code, /** @type {string[]} */ args) =>
    runPhp(['-d', 'session.save_handler=redis', '-d', `session.save_path="${savePath}"`, '-d', 'session.use_cookies=0', '-d', 'session.cache_limiter=', '-d', 'session.gc_maxlifetime=777', '-r', code, '--', ...args]).toString();
  const id = 'unixsock000000000000000000001';
  php(`session_id($argv[1]); session_start(); $_SESSION['by'] = 'php'; session_write_close();`, [id]);
  const store = new RedisSessionStore({ savePath, gcMaxlifetime: 777 });
  try {
    assert.equal((await store.read(id)).get('by'), 'php');
    const info = await store.stat(id);
    assert.equal(info.key, `u:${id}`);
    assert.ok(info.ttlSeconds > 700 && info.ttlSeconds <= 777);
    await store.update(id, (d) => void d.set('by', 'node'));
    assert.equal(php(`session_id($argv[1]); session_start(); echo $_SESSION['by'];`, [id]), 'node');
  } finally {
    await store.close();
  }
});
