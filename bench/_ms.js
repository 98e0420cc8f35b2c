// One server of bench/middleware.bench.js: `node middleware-server.js STACK PORT DIR REDIS_URL`.
// Every stack serves GET /inc: increment the session's counter, answer the new value.
import express from 'express';

const [stack, port, dir, redisUrl] = process.argv.slice(2);
const app = express();
app.disable('x-powered-by');

if (stack.startsWith('bare-') && !['bare-h','bare-io'].includes(stack)) { const wm = new WeakMap();
  const counters = new Map();
  let next = 0;
  const sym = Symbol('x');
  app.get('/inc', (req, res) => {
    let id = /sid=(\d+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!id) {
      id = String(++next);
      res.setHeader('Set-Cookie', `sid=${id}; Path=/`);
    }
    const n = (counters.get(id) ?? 0) + 1;
    counters.set(id, n);
    if (stack === 'bare-end') { const o = res.end; res.end = function () { return o.apply(this, arguments); }; }
    else if (stack === 'bare-req') req.phpSession = counters; else if (stack === 'bare-wm') wm.set(req, counters); else if (stack === 'bare-both') { req.phpSession = counters; const o = res.end; res.end = function () { return o.apply(this, arguments); }; }
    res.end(String(n));
  });
} else if (stack === 'store-now') {
  const { FileSessionStore } = await import('sessctl/files');
  const store = new FileSessionStore({ savePath: dir });
  app.get('/inc', async (req, res) => {
    let id = /PHPSESSID=([a-z0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    let h = id ? store.openExistingNow(id) : null;
    if (!h) { h = await store.open(await store.createId()); res.setHeader('Set-Cookie', `PHPSESSID=${h.id}; path=/`); }
    const n = (h.data.get('n') ?? 0) + 1;
    h.data.set('n', n);
    h.saveAndCloseNow(h.data);
    res.setHeader('Cache-Control', 'no-store, no-cache, must-revalidate');
    res.setHeader('Expires', 'Thu, 19 Nov 1981 08:52:00 GMT');
    res.setHeader('Pragma', 'no-cache');
    res.end(String(n));
  });
} else if (stack === 'bare-mw') {
  const counters = new Map();
  let next = 0;
  app.use((req, res, next) => next());
  app.get('/inc', (req, res) => {
    let id = /sid=(\d+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!id) {
      id = String(++next);
      res.setHeader('Set-Cookie', `sid=${id}; Path=/`);
    }
    const n = (counters.get(id) ?? 0) + 1;
    counters.set(id, n);
    res.end(String(n));
  });
} else if (stack === 'files-nogc' || stack === 'files-x') {
  const { phpSession } = await import('sessctl/middleware');
  const backend = new (await import('sessctl/files')).FileSessionStore({ savePath: dir });
  app.use(phpSession({ backend, logger: null, gcProbability: stack === 'files-nogc' ? 0 : 1 }));
  app.get('/inc', (req, res) => {
    const n = (req.phpSession.get('n') ?? 0) + 1;
    req.phpSession.set('n', n);
    res.end(String(n));
  });
} else if (stack === 'bare') {
  const counters = new Map();
  let next = 0;
  app.get('/inc', (req, res) => {
    let id = /sid=(\d+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!id) {
      id = String(++next);
      res.setHeader('Set-Cookie', `sid=${id}; Path=/`);
    }
    const n = (counters.get(id) ?? 0) + 1;
    counters.set(id, n);
    res.end(String(n));
  });
} else if (stack === 'raw-probe') {
  // The floor for files: the file protocol's system calls written out by hand, synchronously,
  // with the codec and PHP's no-cache headers — what any PHP-compatible file session costs.
  const fs = await import('node:fs');
  const { createRequire } = await import('node:module');
  const fx = createRequire(import.meta.url)('fs-ext-extra-prebuilt');
  const { decodeSession, encodeSession, PhpArray } = await import('sessctl');
  const F = fs.constants.O_RDWR | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
  let next = 0;
  app.get('/inc', (req, res) => {
    let id = /PHPSESSID=([a-z0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (!id) {
      id = 'a' + String(++next).padStart(25, '0');
      res.setHeader('Set-Cookie', `PHPSESSID=${id}; path=/`);
    }
    const fd = fs.openSync(`${dir}/sess_${id}`, F | fs.constants.O_CREAT, 0o600);
    fx.flockSync(fd, fx.constants.LOCK_EX);
    const st = fs.fstatSync(fd);
    const b = Buffer.allocUnsafe(st.size);
    fs.readSync(fd, b, 0, st.size, 0);
    const data = st.size ? decodeSession(b, 'php') : new PhpArray();
    const n = (data.get('n') ?? 0) + 1;
    data.set('n', n);
    const out = encodeSession(data, 'php');
    fs.writeSync(fd, out, 0, out.length, 0);
    fs.closeSync(fd);
    res.setHeader('Cache-Control', 'no-store, no-cache, must-revalidate');
    res.setHeader('Expires', 'Thu, 19 Nov 1981 08:52:00 GMT');
    res.setHeader('Pragma', 'no-cache');
    res.end(String(n));
  });
} else if (stack === 'memory-probe') {
  // The middleware's own cost: phpSession over the in-memory backend (no storage I/O).
  const { phpSession } = await import('sessctl/middleware');
  const backend = new (await import('sessctl/memory')).MemorySessionStore();
  app.use(phpSession({ backend, logger: null }));
  app.get('/inc', (req, res) => {
    const n = (req.phpSession.get('n') ?? 0) + 1;
    req.phpSession.set('n', n);
    res.end(String(n));
  });
} else if (stack === 'files' || stack === 'redis') {
  const { phpSession } = await import('sessctl/middleware');
  const backend =
    stack === 'files'
      ? new (await import('sessctl/files')).FileSessionStore({ savePath: dir })
      : new (await import('sessctl/redis')).RedisSessionStore({ savePath: redisUrl, locking: true });
  app.use(phpSession({ backend, logger: null }));
  app.get('/inc', (req, res) => {
    const n = (req.phpSession.get('n') ?? 0) + 1;
    req.phpSession.set('n', n);
    res.end(String(n));
  });
} else if (stack === 'session-file-store' || stack === 'connect-redis') {
  const session = (await import('express-session')).default;
  let store;
  if (stack === 'session-file-store') {
    const FileStore = (await import('session-file-store')).default(session);
    store = new FileStore({ path: dir, logFn: () => {}, retries: 0 });
  } else {
    const { createClient } = await import('redis');
    const client = createClient({ url: redisUrl.replace(/^tcp:/, 'redis:') });
    await client.connect();
    const { RedisStore } = await import('connect-redis');
    store = new RedisStore({ client });
  }
  app.use(session({ store, secret: 'bench', resave: false, saveUninitialized: true }));
  app.get('/inc', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.end(String(req.session.n));
  });
} else if (stack.startsWith('store-')) {
  // express-session + our Store: store-files, store-redis (one locked round trip), and the
  // two-step path (holdLock: false) as store-files-2step, store-redis-2step.
  const session = (await import('express-session')).default;
  const { createPhpSessionStore, phpSessionCookieBridge } = await import('sessctl/middleware');
  const backend = stack.startsWith('store-files')
    ? new (await import('sessctl/files')).FileSessionStore({ savePath: dir })
    : new (await import('sessctl/redis')).RedisSessionStore({ savePath: redisUrl, locking: true });
  const PhpSessionStore = createPhpSessionStore(session);
  const store = new PhpSessionStore({ backend, logger: null, holdLock: !stack.endsWith('-2step') });
  app.use(phpSessionCookieBridge({ secret: 'bench', isValidId: (id) => backend.isValidId(id) }));
  app.use(session({ name: 'PHPSESSID', secret: 'bench', store, genid: () => store.genid(), resave: false, saveUninitialized: true }));
  app.get('/inc', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.end(String(req.session.n));
  });
} else {
  throw new Error(`unknown stack ${stack}`);
}
app.listen(Number(port), '127.0.0.1', () => process.stdout.write('READY\n'));
