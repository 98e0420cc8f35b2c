// phpredis save_path parsing (redis + rediscluster handlers) and phpredis's server choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedisSavePath, parseRedisClusterSavePath, pickServerIndex, describeServer, RedisSessionStore } from 'sessctl/redis';
import { ConfigError } from 'sessctl';

test('a single tcp server with every phpredis parameter', () => {
  const sp = parseRedisSavePath('tcp://10.0.0.5:6380?auth=s%3Dcret&database=3&prefix=app%3Asess%3A&timeout=2.5&read_timeout=1&persistent=1&weight=4');
  assert.equal(sp.servers.length, 1);
  const s = sp.servers[0];
  assert.equal(s.transport, 'tcp');
  assert.equal(s.host, '10.0.0.5');
  assert.equal(s.port, 6380);
  assert.deepEqual(s.auth, { pass: 's=cret' });
  assert.equal(s.database, 3);
  assert.equal(s.prefix.toString(), 'app:sess:');
  assert.equal(s.timeout, 2.5);
  assert.equal(s.readTimeout, 1);
  assert.equal(s.persistent, true);
  assert.equal(s.weight, 4);
  assert.equal(sp.totalWeight, 4);
  assert.equal(describeServer(s), 'tcp://10.0.0.5:6380/3');
});

test('defaults: port 6379, prefix PHPREDIS_SESSION:, weight 1, no database', () => {
  const s = parseRedisSavePath('tcp://localhost').servers[0];
  assert.equal(s.port, 6379);
  assert.equal(s.prefix.toString(), 'PHPREDIS_SESSION:');
  assert.equal(s.weight, 1);
  assert.equal(s.database, null);
  assert.equal(s.auth, undefined);
  assert.equal(s.timeout, undefined);
});

test('several servers separated by commas and/or whitespace, unix sockets, scheme-less host:port', () => {
  const sp = parseRedisSavePath(' tcp://a:1?weight=2, unix:///run/redis.sock?database=1  127.0.0.1:7000,tls://[::1]:6380 ,/tmp/r.sock');
  assert.deepEqual(
    sp.servers.map((s) => describeServer(s)),
    ['tcp://a:1', 'unix:///run/redis.sock/1', 'tcp://127.0.0.1:7000', 'tls://[::1]:6380', 'unix:///tmp/r.sock'],
  );
  assert.equal(sp.totalWeight, 6);
  assert.equal(sp.servers[1].socketPath, '/run/redis.sock');
});

test('auth as user+password arrays (auth[]=u&auth[]=p and auth[user]/auth[pass])', () => {
  assert.deepEqual(parseRedisSavePath('tcp://h:1?auth[]=bob&auth[]=pw').servers[0].auth, { user: 'bob', pass: 'pw' });
  assert.deepEqual(parseRedisSavePath('tcp://h:1?auth[user]=bob&auth[pass]=p+w').servers[0].auth, { user: 'bob', pass: 'p w' });
  assert.deepEqual(parseRedisSavePath('tcp://h:1?auth[]=only').servers[0].auth, { pass: 'only' });
});

test('the prefix keeps arbitrary bytes (percent-encoded)', () => {
  const s = parseRedisSavePath('tcp://h:1?prefix=%FF%00x').servers[0];
  assert.deepEqual([...s.prefix], [0xff, 0x00, 0x78]);
});

test('bad save paths are ConfigErrors that name the bad part', () => {
  /** @type {[string, RegExp][]} */
  const bad = [
    ['', /no server/],
    ['tcp://h:1?weight=0', /weight/],
    ['tcp://h:1?weight=x', /weight must be an integer/],
    ['tcp://h:1?timeout=0', /timeout must be > 0/],
    ['tcp://h:1?database=abc', /database/],
    ['redis://h:1', /unsupported scheme "redis"/],
    ['tcp://h:99999', /out of range/],
    ['unix://relative.sock', /absolute path/],
    ['tcp://h:1?auth[]=a&auth[]=b&auth[]=c', /auth/],
    ['tcp://h:1?prefix[]=a', /prefix must be a single value/],
  ];
  for (const [text, re] of bad) {
    assert.throws(() => parseRedisSavePath(text), (e) => e instanceof ConfigError && re.test(e.message), text);
  }
});

test('rediscluster save_path: seeds, prefix default, options', () => {
  const c = parseRedisClusterSavePath('seed[]=10.0.0.1:7000&seed[]=10.0.0.2:7001&timeout=2&read_timeout=1.5&auth=pw&failover=distribute');
  assert.deepEqual(c.seeds, [
    { host: '10.0.0.1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
  ]);
  assert.equal(c.prefix.toString(), 'PHPREDIS_CLUSTER_SESSION:');
  assert.equal(c.timeout, 2);
  assert.equal(c.readTimeout, 1.5);
  assert.deepEqual(c.auth, { pass: 'pw' });
  assert.equal(c.failover, 'distribute');
  assert.equal(parseRedisClusterSavePath('seed[]=h:1&prefix=my:').prefix.toString(), 'my:');
  assert.throws(() => parseRedisClusterSavePath('timeout=2'), /seed/);
  assert.throws(() => parseRedisClusterSavePath('seed[]=nohostport'), /not host:port/);
  assert.throws(() => parseRedisClusterSavePath('seed[]=h:1&timeout=-1'), /negative/);
});

test('server choice: first 4 id bytes little-endian modulo total weight, walked from the last server', () => {
  const servers = [{ weight: 1 }, { weight: 2 }, { weight: 3 }];
  // 'aaaa' = 0x61616161 = 1633771873; % 6 = 1 → ranges walked last-first: [0,3)=#2, [3,5)=#1, [5,6)=#0
  assert.equal(0x61616161 % 6, 1);
  assert.equal(pickServerIndex(servers, 'aaaaXYZ'), 2);
  // find ids landing in each range and check the mapping the other way round
  const seen = new Set();
  for (const id of ['0000', '1111', '2222', '3333', '4444', 'abcd', 'zzzz', 'ABCD', '0a1b', 'x-,y']) {
    const pos = Buffer.from(id).readUInt32LE(0) % 6;
    const expected = pos < 3 ? 2 : pos < 5 ? 1 : 0;
    assert.equal(pickServerIndex(servers, id + 'rest'), expected, id);
    seen.add(expected);
  }
  assert.equal(seen.size, 3);
  assert.equal(pickServerIndex([{ weight: 5 }], 'anything'), 0);
});

test('store options are validated up front (no connection is made)', () => {
  assert.throws(() => new RedisSessionStore({ savePath: 'tcp://h:1?weight=-2' }), ConfigError);
  assert.throws(() => new RedisSessionStore({ gcMaxlifetime: 0 }), /gcMaxlifetime/);
  assert.throws(() => new RedisSessionStore({ lockRetries: -2 }), /lockRetries/);
  assert.throws(() => new RedisSessionStore({ saveHandler: 'rediscluster', savePath: 'seed[]=h:1', locking: true }), /does not lock rediscluster/);
  // @ts-expect-error 'memcached' is not a redis save handler: checks the runtime refuses it
  assert.throws(() => new RedisSessionStore({ saveHandler: 'memcached' }), /save handler/);
  const store = new RedisSessionStore({ saveHandler: 'rediscluster', savePath: 'seed[]=127.0.0.1:1' });
  assert.equal(store.locate('abcdef').key.toString(), 'PHPREDIS_CLUSTER_SESSION:abcdef');
  const single = new RedisSessionStore({ savePath: 'tcp://127.0.0.1:1?prefix=p:' });
  assert.equal(single.locate('abcdef').key.toString(), 'p:abcdef');
  assert.equal(single.locate('abcdef').lockKey.toString(), 'p:abcdef_LOCK');
  assert.throws(() => single.locate('../x'), /invalid session id/);
});
