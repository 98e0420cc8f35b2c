// The Node-side lock on <key>_LOCK: Node writers (here two stores, as two processes would be)
// racing read-modify-write on one session lose no update.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SymfonyRedisSessionStore } from 'sessctl/symfony-redis';
import { needRedis, hasRedisServer, hasPhpRedis } from '../../helpers/env.js';
import { startRedis } from '../../helpers/redis-server.js';

const server = /** @type {{ port?: number, stop?: () => Promise<void> }} */ ({});
before(async () => {
  if (hasRedisServer && hasPhpRedis) Object.assign(server, await startRedis());
});
after(async () => server.stop?.());

const N = 150; // per store
test(`two Node stores, ${N} increments each, all at once, on one session: none lost`, needRedis(), async () => {
  const make = () => new SymfonyRedisSessionStore({ url: `redis://127.0.0.1:${server.port}`, useStrictMode: false, lockWaitTimeUs: 1000 });
  const [a, b] = [make(), make()];
  try {
    const id = 'lockrace0000000000000000000001';
    await a.update(id, (d) => void d.set('n', 0));
    const inc = (/** @type {SymfonyRedisSessionStore} */ s) => s.update(id, (d) => void d.set('n', d.get('n') + 1));
    await Promise.all(Array.from({ length: N }, () => [inc(a), inc(b)]).flat());
    assert.equal((await a.read(id))?.get('n'), 2 * N);
    const loc = a.locate(id);
    assert.equal(Number(await loc.target.send(['EXISTS', loc.lockKey], loc.lockKey)), 0, 'no lock left behind');
  } finally {
    await a.close();
    await b.close();
  }
});
