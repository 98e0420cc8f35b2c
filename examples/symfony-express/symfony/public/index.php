<?php
// The Symfony side: HttpFoundation's Session on NativeSessionStorage with PHP's files handler
// (NativeFileSessionHandler), a login that stores a security token as the firewall 'main'
// does (serialize($token) under _security_main), attributes and flash messages. One front
// controller; php -S hands it every request.
require_once 'Symfony/Component/HttpFoundation/autoload.php';
require_once 'Symfony/Component/Security/Core/autoload.php';

use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\RedirectResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpFoundation\Session\Session;
use Symfony\Component\HttpFoundation\Session\Storage\Handler\NativeFileSessionHandler;
use Symfony\Component\HttpFoundation\Session\Storage\NativeSessionStorage;
use Symfony\Component\Security\Core\Authentication\Token\UsernamePasswordToken;
use Symfony\Component\Security\Core\Exception\UserNotFoundException;
use Symfony\Component\Security\Core\User\InMemoryUserProvider;

const FIREWALL = 'main';

$request = Request::createFromGlobals();
// The save path, strict mode and cookie attributes the Node side is given too (run.js).
$session = new Session(new NativeSessionStorage(
    ['cookie_httponly' => true, 'cookie_samesite' => 'lax', 'use_strict_mode' => true],
    new NativeFileSessionHandler(getenv('SESSION_DIR') ?: null),
));
$request->setSession($session);
$session->start();

// The demo users (a real app has a database and hashed passwords).
$users = new InMemoryUserProvider([
    'ann' => ['password' => 'secret', 'roles' => ['ROLE_USER']],
    'bob' => ['password' => 'secret', 'roles' => ['ROLE_USER']],
]);

function token(Session $session): ?UsernamePasswordToken
{
    $raw = $session->get('_security_' . FIREWALL);
    $token = is_string($raw) ? unserialize($raw, ['allowed_classes' => true]) : null;
    return $token instanceof UsernamePasswordToken ? $token : null;
}

$e = fn ($s) => htmlspecialchars((string) $s, ENT_QUOTES);
$route = $request->getMethod() . ' ' . $request->getPathInfo();
switch ($route) {
    case 'GET /':
        $token = token($session);
        $node = $e(getenv('NODE_URL') ?: 'http://127.0.0.1:3000');
        $flashes = implode('', array_map(fn ($m) => '<p class="flash">' . $e($m) . '</p>', $session->getFlashBag()->get('notice')));
        $who = $token
            ? '<p>Logged in as <b>' . $e($token->getUserIdentifier()) . '</b> (token ' . $e(get_class($token)) . ' on firewall ' . FIREWALL . ').</p>'
                . '<form method="post" action="/logout"><button>Log out (Symfony)</button></form>'
            : '<p>Not logged in.</p><form method="post" action="/login"><input name="name" placeholder="ann"> '
                . '<input name="password" type="password" placeholder="secret"> <button>Log in (Symfony)</button></form>';
        $visits = $e($session->get('node_visits', 0));
        $id = $e($session->getId());
        $response = new Response(<<<HTML
<!doctype html><html><head><meta charset="utf-8"><title>Symfony side</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}.flash{background:#efe;padding:.5em}</style></head><body>
<p><b>Symfony side</b> · <a href="/">Symfony home</a> · <a href="$node/">Node side</a></p>
<h1>Symfony</h1><p>Session id: <code>$id</code></p>
$flashes
$who
<p>Visits counted by Node: <b>$visits</b></p>
</body></html>
HTML);
        break;

    case 'POST /login':
        $name = (string) $request->request->get('name', '');
        try {
            $user = $users->loadUserByIdentifier($name);
        } catch (UserNotFoundException $ex) {
            $user = null;
        }
        if (!$user || !hash_equals($user->getPassword(), (string) $request->request->get('password', ''))) {
            $session->getFlashBag()->add('notice', 'Wrong name or password.');
        } else {
            // SessionAuthenticationStrategy::MIGRATE, then what ContextListener stores at the end of the request
            $session->migrate(true);
            $session->set('_security_' . FIREWALL, serialize(new UsernamePasswordToken($user, FIREWALL, $user->getRoles())));
            $session->set('logged_in_at', time());
            $session->getFlashBag()->add('notice', "Welcome, $name.");
        }
        $response = new RedirectResponse('/', 303);
        break;

    case 'POST /logout':
        $session->invalidate(); // the logout listener's session invalidation
        $session->getFlashBag()->add('notice', 'Logged out.');
        $response = new RedirectResponse('/', 303);
        break;

    case 'GET /state': // what the session holds, for scripts and tests
        $response = new JsonResponse([
            'id' => $session->getId(),
            'user' => token($session)?->getUserIdentifier(),
            'attributes' => array_diff_key($session->all(), ['_security_' . FIREWALL => 1]),
            'flashes' => $session->getFlashBag()->peekAll(),
        ]);
        break;

    default:
        $response = new Response('Not found', 404, ['Content-Type' => 'text/plain']);
}
// Saved (and its lock released) before the response leaves, as Symfony's SessionListener does.
$session->save();
$response->prepare($request)->send();
