// maxBytes bounds what the Memcached client holds: a value above it is dropped as it arrives
// (never buffered whole), the requests pipelined around it still get their own answers, and a
// listing with data marks it tooBig instead of fetching it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needMemcached } from '../../helpers/env.js';
import { useMemcached } from '../../helpers/memcached-server.js';
import { MemcachedConnection } from '../../../dist/backends/shared/memcached/connection.js';
import { OP } from '../../../dist/backends/shared/memcached/protocol.js';

const mc = useMemcached(1);

test('a GET whose value is above maxValue answers `oversized` without the value; pipelined neighbours are intact', needMemcached(), async () => {
  const store = mc.store({ prefix: 'lim.' });
  const server = /** @type {any} */ (store.savePath.servers[0]);
  const conn = new MemcachedConnection(server, { connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
  try {
    // Big enough to arrive in many socket reads (memcached's item limit is 1 MiB by default).
    const big = Buffer.alloc(900_000, 0x61);
    const small = (n) => Buffer.from(`k|i:${n};`);
    await store.writeRaw('limbig0000000000000000000000001', big);
    for (const n of [1, 2, 3]) await store.writeRaw(`limsmall000000000000000000000${n}`, small(n));
    const key = (id) => Buffer.from(`lim.${id}`);
    const replies = await Promise.all([
      conn.request({ opcode: OP.GET, key: key('limsmall0000000000000000000001'), maxValue: 1000 }),
      conn.request({ opcode: OP.GET, key: key('limbig0000000000000000000000001'), maxValue: 1000 }),
      conn.request({ opcode: OP.GET, key: key('limsmall0000000000000000000002'), maxValue: 1000 }),
      conn.request({ opcode: OP.GET, key: key('limbig0000000000000000000000001'), maxValue: 1000 }),
      conn.request({ opcode: OP.GET, key: key('limsmall0000000000000000000003') }),
      conn.request({ opcode: OP.GET, key: key('limbig0000000000000000000000001') }),
    ]);
    assert.deepEqual(
      replies.map((r) => [r.status, r.oversized, r.value.toString('latin1')]),
      [
        [0, undefined, 'k|i:1;'],
        [0, big.length, ''],
        [0, undefined, 'k|i:2;'],
        [0, big.length, ''],
        [0, undefined, 'k|i:3;'],
        [0, undefined, big.toString('latin1')],
      ],
    );
    // The connection is still in step afterwards.
    const after = await conn.request({ opcode: OP.GET, key: key('limsmall0000000000000000000002'), maxValue: 1000 });
    assert.equal(after.value.toString(), 'k|i:2;');
  } finally {
    await conn.close();
  }
});

test('sessions({ withData }) marks a session above maxBytes tooBig with its size, without its bytes; the others come with theirs', needMemcached(), async () => {
  const store = mc.store({ prefix: 'lst.', maxBytes: 1000 });
  await store.writeRaw('lstbig0000000000000000000000001', Buffer.alloc(5000, 0x61));
  await store.writeRaw('lstsmall0000000000000000000001', Buffer.from('k|i:1;'));
  const seen = [];
  for await (const s of store.sessions({ withData: true })) seen.push([s.id, s.size, s.tooBig, s.bytes?.toString()]);
  seen.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  assert.deepEqual(seen, [
    ['lstbig0000000000000000000000001', 5000, true, undefined],
    ['lstsmall0000000000000000000001', 6, undefined, 'k|i:1;'],
  ]);
  await assert.rejects(store.read('lstbig0000000000000000000000001'), { code: 'ETOOBIG' });
  assert.equal((await store.readBytes('lstbig0000000000000000000000001'))?.length, 5000, 'readBytes: the raw bytes, whole');
});
