<?php
// Log out: empty the session, drop its file, expire the cookie.
session_start();
$_SESSION = [];
$p = session_get_cookie_params();
setcookie(session_name(), '', ['expires' => 1, 'path' => $p['path'], 'domain' => $p['domain'],
    'secure' => $p['secure'], 'httponly' => $p['httponly'], 'samesite' => $p['samesite']]);
session_destroy();
header('Location: /', true, 303);
