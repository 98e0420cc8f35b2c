<?php
return [
    'defaults' => ['guard' => 'web', 'passwords' => 'users'],
    'guards' => [
        'web' => ['driver' => 'session', 'provider' => 'users'],
    ],
    'providers' => [
        // App\Auth\JsonUserProvider: users.json, shared with the Node side
        'users' => ['driver' => 'json', 'file' => dirname(__DIR__, 2) . '/users.json'],
    ],
];
