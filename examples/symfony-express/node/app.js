// The Node side of the Symfony example: an Express app on the same PHP session files and
// PHPSESSID cookie (sessctl/files + phpSession()), reading Symfony's bags through
// SymfonySessionView: the user in the firewall's security token, attributes, flash messages.
import express from 'express';
import { phpSession } from 'sessctl/middleware';
import { SymfonySessionView } from 'sessctl/symfony';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const list = (messages) => messages.map((m) => `<li>${esc(m)}</li>`).join('');

/**
 * @param {{ backend: import('sessctl').SessionBackend, symfonyUrl: string, sessionOptions?: object }} options
 *   backend: the Symfony app's session.save_path (FileSessionStore)
 */
export function createApp({ backend, symfonyUrl, sessionOptions = {} }) {
  const app = express();
  // The php.ini settings Symfony's NativeSessionStorage runs with: strict mode, cookie attributes.
  app.use(phpSession({ backend, useStrictMode: true, cookie: { httpOnly: true, sameSite: 'Lax' }, ...sessionOptions }));
  const symfony = (req) => new SymfonySessionView(req.phpSession.data);

  const page = (req, body) => `<!doctype html><html><head><meta charset="utf-8"><title>Node side</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}form{display:inline}</style></head><body>
<p><b>Node side</b> · <a href="/">Node home</a> · <a href="${esc(symfonyUrl)}/">Symfony side</a></p>
<h1>Node</h1><p>Session id: <code>${esc(req.phpSession.id)}</code></p>
${body}
</body></html>`;

  app.get('/', (req, res) => {
    const s = symfony(req);
    const login = s.securityToken('main'); // _security_main: serialize($token)
    const notices = s.peekFlashes('notice'); // FlashBag::peek(): left for Symfony to show
    res.type('html').send(
      page(
        req,
        `${login ? `<p>Logged in as <b>${esc(login.userIdentifier ?? '?')}</b> (logged in on the Symfony side, ${esc(login.tokenClass.split('\\').pop())}).</p>` : '<p>Not logged in.</p>'}
<p>Visits counted by Node: <b>${esc(s.get('node_visits') ?? 0)}</b></p>
<p>Flash messages waiting for the Symfony page:</p><ul>${list(notices)}</ul>
<form method="post" action="/visit"><button>Count a visit (Node)</button></form>
<form method="post" action="/flashes"><button>Show the flash messages here (Node)</button></form>`,
      ),
    );
  });

  // $session->set() and getFlashBag()->add(), saved under PHP's lock when the response ends.
  app.post('/visit', (req, res) => {
    const s = symfony(req);
    const visits = Number(s.get('node_visits') ?? 0) + 1;
    s.set('node_visits', visits);
    s.addFlash('notice', `Node counted visit ${visits}.`);
    s.touch(); // _sf2_meta's "last used", as a Symfony request updates it
    res.redirect(303, '/');
  });

  // FlashBag::get(): shown here, so Symfony no longer shows them.
  app.post('/flashes', (req, res) => {
    const notices = symfony(req).getFlashes('notice');
    res.type('html').send(page(req, `<p>Flash messages, shown once, here:</p><ul>${list(notices)}</ul>`));
  });

  // What Node sees, for scripts and tests.
  app.get('/state', (req, res) => {
    const s = symfony(req);
    res.json({ id: req.phpSession.id, user: s.securityToken('main')?.userIdentifier ?? null, visits: s.get('node_visits') ?? 0, flashes: s.peekFlashes('notice') });
  });
  return app;
}
