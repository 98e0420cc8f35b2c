<?php
// config/session.php of a new Laravel 8 app, on the file driver. The Node side's
// LaravelFileSessionStore is given the same directory and lifetime.
return [
    'driver' => 'file',
    'lifetime' => (int) env('SESSION_LIFETIME', 120),
    'expire_on_close' => false,
    'encrypt' => false,
    'files' => storage_path('framework/sessions'),
    'lottery' => [2, 100],
    'cookie' => 'laravel_session',
    'path' => '/',
    'domain' => null,
    'secure' => false,
    'http_only' => true,
    'same_site' => 'lax',
];
