<?php
// The front controller, as in a Laravel app's public/index.php: boot the app, hand the
// request to the HTTP kernel, send the response, run the terminating middleware.
use Illuminate\Contracts\Http\Kernel;
use Illuminate\Http\Request;

$app = require __DIR__ . '/../bootstrap/app.php';
$kernel = $app->make(Kernel::class);
$response = $kernel->handle($request = Request::capture())->send();
$kernel->terminate($request, $response);
