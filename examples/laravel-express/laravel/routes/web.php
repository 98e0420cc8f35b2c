<?php
// The Laravel side: a login (Auth::login on the 'web' guard) and a page showing what the
// session holds, including what the Node side put there.
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;
use Illuminate\Http\Response;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Route;

Route::get('/', function (Request $request) {
    $session = $request->session();
    $user = Auth::user();
    $token = e(csrf_token());
    $node = e(env('NODE_URL', 'http://127.0.0.1:3000'));
    $id = e($session->getId());
    $visits = e($session->get('node.visits', 0));
    // a flash message: from this app or from Node (shown on the next request, then gone)
    $flash = $session->has('status') ? '<p class="flash">' . e($session->get('status')) . '</p>' : '';
    $form = $user
        ? '<p>Logged in as <b>' . e($user->name) . '</b> (user id ' . e(Auth::id()) . ').</p>'
            . "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"_token\" value=\"$token\"><button>Log out (Laravel)</button></form>"
        : '<p>Not logged in.</p>'
            . "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"_token\" value=\"$token\">"
            . '<input name="name" placeholder="ann"> <input name="password" type="password" placeholder="secret"> <button>Log in (Laravel)</button></form>';
    // new Response, not response(): the example has no view factory, which response() needs
    return new Response(<<<HTML
<!doctype html><html><head><meta charset="utf-8"><title>Laravel side</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}.flash{background:#efe;padding:.5em}</style></head><body>
<p><b>Laravel side</b> · <a href="/">Laravel home</a> · <a href="$node/">Node side</a></p>
<h1>Laravel</h1><p>Session id: <code>$id</code></p>
$flash
$form
<p>Visits counted by Node: <b>$visits</b></p>
<p>CSRF token: <code>$token</code></p>
</body></html>
HTML);
});

Route::post('/login', function (Request $request) {
    $credentials = $request->only('name', 'password');
    $provider = Auth::getProvider();
    $user = $provider->retrieveByCredentials($credentials);
    if (!$user || !$provider->validateCredentials($user, $credentials)) {
        return redirect('/')->with('status', 'Wrong name or password.');
    }
    Auth::login($user); // stores the id under login_web_<sha1>, and migrates the session to a new id
    return redirect('/')->with('status', "Welcome, {$user->name}.");
});

Route::post('/logout', function (Request $request) {
    Auth::logout();
    $request->session()->invalidate();
    $request->session()->regenerateToken();
    return redirect('/')->with('status', 'Logged out.');
});

// What the session holds, for scripts and tests.
Route::get('/state', fn (Request $request) => new JsonResponse([
    'id' => $request->session()->getId(),
    'user' => Auth::id(),
    'session' => $request->session()->all(),
]));
