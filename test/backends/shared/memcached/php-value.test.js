// php-memcached's value flags and compression, decoded from items the real extension wrote
// (Memcached::set with its default fastlz compression at both FastLZ levels, with zlib, and
// values of other PHP types), read raw over the binary protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from 'sessctl';
import { LaravelMemcachedSessionStore, phpMemcachedString, fastlzDecompress } from 'sessctl/laravel-memcached';
import { needMemcached, runPhp } from '../../../helpers/env.js';
import { useMemcached } from '../../../helpers/memcached-server.js';

const mc = useMemcached(1);
const id = (/** @type {number} */ n) => `phpvalue${String(n).padStart(32, '0')}`;

// Each value PHP stores, and how: [name, PHP expression, compression type].
const CASES = [
  ['short string, not compressed', `'a:1:{s:1:"x";i:1;}'`, 'fastlz'],
  ['3000 repeated bytes, fastlz level 1', `str_repeat('session-', 375)`, 'fastlz'],
  ['text below 64 KiB, fastlz level 1 with long matches', `implode(',', array_map(fn ($i) => "k$i=" . ($i % 97), range(1, 6000)))`, 'fastlz'],
  ['above 64 KiB, fastlz level 2 with far matches', `(function () { mt_srand(7); $r = ''; for ($i = 0; $i < 20000; $i++) $r .= chr(mt_rand(97, 122)); return $r . str_repeat('x', 300) . $r . $r . $r; })()`, 'fastlz'],
  ['zlib', `str_repeat('zlib compressed ', 400)`, 'zlib'],
  ['binary bytes', `(function () { $r = ''; for ($i = 0; $i < 5000; $i++) $r .= chr(($i * 7) % 256) . chr($i % 13); return $r; })()`, 'fastlz'],
];

test('strings php-memcached stored (plain, fastlz levels 1 and 2, zlib) decode to the exact bytes', needMemcached(), async () => {
  const [host, port] = mc.savePath.split(':');
  const php = CASES.map(([, expr, type], i) => `$m->setOption(Memcached::OPT_COMPRESSION_TYPE, Memcached::COMPRESSION_${type.toUpperCase()}); $v = ${expr}; $m->set('pv:${id(i)}', $v); $out[] = base64_encode($v);`).join('\n');
  const out = JSON.parse(runPhp(['-r', `$m = new Memcached(); $m->addServer('${host}', ${port}); $out = [];\n${php}\necho json_encode($out);`]).toString());
  const store = new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: 'pv:' });
  try {
    const flagsSeen = [];
    for (const [i, [name]] of CASES.entries()) {
      const item = await store.readStored(id(i));
      assert.ok(item, name);
      flagsSeen.push(item.flags);
      assert.deepEqual(phpMemcachedString(item.value, item.flags, name), Buffer.from(out[i], 'base64'), name);
    }
    assert.equal(flagsSeen[0], 0, 'short strings are stored as they are');
    assert.equal(flagsSeen[1], 0x50, 'fastlz');
    assert.equal(fastlzLevel(await store.readStored(id(3))), 2, 'above 64 KiB FastLZ uses level 2');
    assert.equal(flagsSeen[4], 0x30, 'zlib');
  } finally {
    await store.close();
  }
});

/** @param {{ value: Buffer } | null | undefined} item */
function fastlzLevel(item) {
  return (/** @type {Buffer} */ (item?.value)[4] >> 5) + 1;
}

test('values of other PHP types, unknown compression and corrupt data are DecodeErrors naming where', needMemcached(), async () => {
  const [host, port] = mc.savePath.split(':');
  runPhp(['-r', `$m = new Memcached(); $m->addServer('${host}', ${port}); $m->set('pv:${id(90)}', 42); $m->set('pv:${id(91)}', ['a' => 1]); $m->set('pv:${id(92)}', true);`]);
  const store = new LaravelMemcachedSessionStore({ servers: mc.savePath, prefix: 'pv:' });
  try {
    /** @type {Array<[number, RegExp]>} */
    const kinds = [[90, /int/], [91, /serialize\(\)d value/], [92, /bool/]];
    for (const [n, type] of kinds) {
      const item = await store.readStored(id(n));
      assert.ok(item);
      assert.throws(() => phpMemcachedString(item.value, item.flags, 'here'), (e) => e instanceof DecodeError && type.test(e.message) && e.message.startsWith('here:'));
      await assert.rejects(store.read(id(n)), DecodeError);
    }
  } finally {
    await store.close();
  }
  const header = Buffer.alloc(4);
  header.writeUInt32LE(100);
  assert.throws(() => phpMemcachedString(Buffer.concat([header, Buffer.from([0x1f, 1, 2])]), 0x50, 'w'), DecodeError, 'literal run past the end');
  assert.throws(() => phpMemcachedString(Buffer.concat([header, Buffer.from([0x00, 0x41, 0xe0, 0x00, 0x05])]), 0x50, 'w'), DecodeError, 'reference before the start');
  assert.throws(() => phpMemcachedString(Buffer.concat([header, Buffer.from('not zlib')]), 0x30, 'w'), DecodeError);
  assert.throws(() => phpMemcachedString(Buffer.concat([header, Buffer.from('x')]), 0x90, 'w'), /zstd/);
  assert.throws(() => phpMemcachedString(Buffer.from([1, 0]), 0x50, 'w'), DecodeError);
  // announced length differs from the output
  assert.throws(() => phpMemcachedString(Buffer.concat([header, Buffer.from([0x02, 0x61, 0x62, 0x63])]), 0x50, 'w'), /announced|longer/);
  assert.deepEqual(fastlzDecompress(Buffer.from([0x02, 0x61, 0x62, 0x63]), 3), Buffer.from('abc'));
  // a header announcing 4 GiB is refused before anything is allocated
  assert.throws(() => phpMemcachedString(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x61]), 0x50, 'w', 1 << 20), { code: 'ETOOBIG' });
});
