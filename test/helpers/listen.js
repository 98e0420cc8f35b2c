// An HTTP server on a free loopback port for one test file, closed when the file's tests end.
import { after } from 'node:test';
import http from 'node:http';

/** @type {http.Server[]} */
const servers = [];
after(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/**
 * @param {http.RequestListener} handler
 * @param {{ keepAliveTimeout?: number }} [options] a short keep-alive lets the file's servers close at once
 * @returns {Promise<string>} the base URL
 */
export async function listen(handler, { keepAliveTimeout } = {}) {
  const server = http.createServer(handler);
  if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout;
  servers.push(server);
  await /** @type {Promise<void>} */ (new Promise((r) => server.listen(0, '127.0.0.1', r)));
  return `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
}
