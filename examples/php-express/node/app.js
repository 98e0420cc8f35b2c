// The Node side of the example: an Express app on the same sessions as the PHP app.
import express from 'express';
import { phpSession } from 'sessctl/middleware';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * @param {{ backend: import('sessctl').SessionBackend, phpUrl: string, sessionOptions?: object }} options
 */
export function createApp({ backend, phpUrl, sessionOptions = {} }) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  // The same php.ini settings as the PHP side: cookie name, strict mode, cookie attributes.
  app.use(phpSession({ backend, useStrictMode: true, cookie: { httpOnly: true, sameSite: 'Lax' }, ...sessionOptions }));

  app.get('/', (req, res) => {
    const s = req.phpSession;
    const user = s.get('user');
    const cart = s.get('cart') ?? {};
    res.type('html').send(`<!doctype html><html><head><meta charset="utf-8"><title>Shop (Node)</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}form{display:inline}</style></head><body>
<p><b>Node side</b> · <a href="/">Node home</a> · <a href="${esc(phpUrl)}/">PHP side</a></p>
<h1>Shop (Node)</h1><p>Session id: <code>${esc(s.id)}</code></p>
${user ? `<p>Logged in as <b>${esc(user.name)}</b> (logged in on the PHP side).</p>` : `<p>Not logged in. <a href="${esc(phpUrl)}/">Log in on the PHP side</a>.</p>`}
<h2>Cart</h2><ul>${Object.entries(cart).map(([sku, qty]) => `<li>${esc(sku)} × ${esc(qty)}</li>`).join('')}</ul>
<form method="post" action="/cart"><input name="sku" value="node-sticker"> <button>Add to cart (Node)</button></form>
<p>Counter (incremented by both sides): ${esc(s.get('count') ?? 0)} <a href="/count">+1 from Node</a></p>
</body></html>`);
  });

  // Add one item to the PHP cart ($_SESSION['cart'][sku]++).
  app.post('/cart', (req, res) => {
    const sku = String(req.body?.sku ?? req.query.sku ?? '');
    if (!sku) return res.status(400).send('sku required');
    const cart = req.phpSession.get('cart') ?? {};
    cart[sku] = (cart[sku] ?? 0) + 1;
    req.phpSession.set('cart', cart);
    res.redirect(303, '/');
  });

  // $_SESSION['count']++, under PHP's lock: concurrent PHP and Node requests lose nothing.
  app.get('/count', (req, res) => {
    const n = (req.phpSession.get('count') ?? 0) + 1;
    req.phpSession.set('count', n);
    if (req.accepts(['text', 'html']) === 'html') return res.redirect(303, '/');
    res.type('text').send(String(n));
  });

  app.get('/state', (req, res) => res.json({ id: req.phpSession.id, session: req.phpSession.toJSON() }));
  return app;
}
