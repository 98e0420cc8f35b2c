// The Node side of the Laravel example: an Express app that reads the Laravel session its
// encrypted laravel_session cookie points at (APP_KEY), shows who is logged in and the CSRF
// token, and changes the session: a visit counter and a flash message the Laravel page shows.
import express from 'express';
import { timingSafeEqual } from 'node:crypto';
import { laravelSession } from 'sessctl/laravel';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** hash_equals(), as VerifyCsrfToken compares the token. */
function sameToken(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * @param {{
 *   store: import('sessctl').SessionBackend,
 *   key: string,
 *   laravelUrl: string,
 *   users: { id: number, name: string }[],
 * }} options store: the Laravel app's session files (LaravelFileSessionStore); key: its APP_KEY
 */
export function createApp({ store, key, laravelUrl, users }) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  // Reading needs no lock held for the request; changing opens the session under Laravel's
  // file lock and saves it when the response is done. A change takes the place of a Laravel
  // request, so it ages flash data as Laravel's save does (ageFlash): its own flash message is
  // then shown by the next Laravel page only, as a flash from a Laravel request would be.
  const read = laravelSession({ store, key });
  const write = laravelSession({ store, key, write: true, ageFlash: true });
  const nameOf = (id) => users.find((u) => u.id === Number(id))?.name ?? `#${id}`;

  app.get('/', read, (req, res) => {
    const s = req.laravelSession;
    const userId = s?.userId('web'); // Auth::guard('web')->id()
    const pending = s?.get('status'); // the flash message the next Laravel page shows
    res.type('html').send(`<!doctype html><html><head><meta charset="utf-8"><title>Node side</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}</style></head><body>
<p><b>Node side</b> · <a href="/">Node home</a> · <a href="${esc(laravelUrl)}/">Laravel side</a></p>
<h1>Node</h1>
${
  s
    ? `<p>Session id: <code>${esc(req.laravelSessionId)}</code></p>
${userId === undefined ? '<p>Not logged in.</p>' : `<p>Logged in as <b>${esc(nameOf(userId))}</b> (user id ${esc(userId)}, logged in on the Laravel side).</p>`}
<p>CSRF token: <code>${esc(s.token ?? '')}</code></p>
<p>Visits counted by Node: <b>${esc(Number(s.get('node.visits') ?? 0))}</b></p>
${pending === undefined ? '' : `<p>Flash message waiting for the Laravel page: <i>${esc(pending)}</i></p>`}
<form method="post" action="/visit"><input type="hidden" name="_token" value="${esc(s.token ?? '')}"><button>Count a visit (Node)</button></form>`
    : `<p>No Laravel session. <a href="${esc(laravelUrl)}/">Open the Laravel side</a> first.</p>`
}
</body></html>`);
  });

  // Refuses a request without a Laravel session or without its CSRF token (compared as
  // VerifyCsrfToken does). Checked on the session as read first, so that a refused request
  // never opens the session for writing (a write would store an empty session under a dead
  // id), and again under the lock, on what is about to be saved.
  const refused = (req, res) => {
    const s = req.laravelSession;
    const [status, why] = !s?.token ? [401, 'no Laravel session'] : sameToken(req.body?._token, s.token) ? [] : [419, 'CSRF token mismatch'];
    if (status) res.status(status).type('text').send(why);
    return status !== undefined;
  };

  // Changes the session, under the lock, as a Laravel request would: session()->put() and
  // session()->flash().
  app.post('/visit', read, (req, res, next) => void (refused(req, res) || next()), write, (req, res) => {
    if (refused(req, res)) return;
    const s = req.laravelSession;
    const visits = Number(s.get('node.visits') ?? 0) + 1;
    s.put('node.visits', visits);
    s.flash('status', `Node counted visit ${visits}.`);
    res.redirect(303, '/');
  });

  // What Node sees, for scripts and tests.
  app.get('/state', read, (req, res) => {
    const s = req.laravelSession;
    res.json(s ? { id: req.laravelSessionId, user: s.userId('web') ?? null, token: s.token ?? null, visits: s.get('node.visits') ?? 0 } : { id: null, user: null });
  });
  return app;
}
