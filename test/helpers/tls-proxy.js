// A TLS-terminating reverse proxy on a loopback port, as nginx would sit in front of the PHP
// and Node apps: the browser speaks https to it, it speaks plain http to the app behind.
import https from 'node:https';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throw-away self-signed certificate for `host` (openssl, Debian's package), written into `dir`. */
export function selfSignedCert(dir, host) {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate: ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

// Headers of one connection, not of the message (RFC 9110 §7.6.1): never forwarded.
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP.has(k)));

/**
 * Listens on a free loopback port; `upstream` (an http:// origin) may be set after the start,
 * since the apps behind must know the proxy's public URL before they start.
 */
export async function startTlsProxy({ key, cert }) {
  let upstream;
  const server = https.createServer({ key, cert }, (req, res) => {
    const headers = { ...endToEnd(req.headers), 'x-forwarded-proto': 'https', 'x-forwarded-for': req.socket.remoteAddress };
    const out = http.request(new URL(req.url, upstream), { method: req.method, headers }, (back) => {
      res.writeHead(back.statusCode, endToEnd(back.headers));
      back.pipe(res);
    });
    out.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    req.pipe(out);
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  return {
    port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
    setUpstream(url) {
      upstream = url;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
