// in-process loop: middleware over fake req/res vs the store used directly
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { phpSession } from 'sessctl/middleware';
import { FileSessionStore } from 'sessctl/files';
const dir = mkdtempSync('/tmp/mwloop-');
const store = new FileSessionStore({ savePath: dir });
const gcp = Number(process.env.GCP ?? 1);
const mw = phpSession({ backend: store, logger: null, gcProbability: gcp });
const ids = [];
for (let i = 0; i < 50; i++) { const h = await store.open(await store.createId()); ids.push(h.id); await h.saveAndClose(); }
const cookies = ids.map((id) => `PHPSESSID=${id}`);
function mkReq(i) { const req = new http.IncomingMessage(null); req.headers = { cookie: cookies[i % 50], host: 'x' }; req.url = '/inc'; req.method = 'GET'; return req; }
function viaMw(i) {
  const req = mkReq(i); const res = new http.ServerResponse(req);
  mw(req, res, () => { const n = (req.phpSession.get('n') ?? 0) + 1; req.phpSession.set('n', n); res.end(String(n)); });
}
function viaStore(i) {
  const req = mkReq(i); const res = new http.ServerResponse(req);
  const id = /PHPSESSID=([a-z0-9]+)/.exec(req.headers.cookie)[1];
  const h = store.openExistingNow(id);
  const n = (h.data.get('n') ?? 0) + 1; h.data.set('n', n); h.saveAndCloseNow(h.data);
  res.setHeader('Cache-Control', 'no-store, no-cache, must-revalidate');
  res.setHeader('Expires', 'Thu, 19 Nov 1981 08:52:00 GMT');
  res.setHeader('Pragma', 'no-cache');
  res.end(String(n));
}
function bare(i) { const req = mkReq(i); const res = new http.ServerResponse(req); res.end('1'); }
const fns = { bare, viaStore, viaMw };
const N = 20000; const out = { bare: [], viaStore: [], viaMw: [] };
for (let r = 0; r < 12; r++) for (const [k, f] of Object.entries(fns)) {
  const t = process.cpuUsage(); for (let i = 0; i < N; i++) f(i); const u = process.cpuUsage(t); out[k].push((u.user + u.system) / N);
  await new Promise((r) => setImmediate(r));
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (const k in out) console.log(k.padEnd(10), med(out[k]).toFixed(2), 'µs');
console.log('mw - store', (med(out.viaMw) - med(out.viaStore)).toFixed(2), 'µs');
