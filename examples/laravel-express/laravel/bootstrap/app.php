<?php
// Laravel 8's bootstrap/app.php on Debian's php-laravel-framework: the classes come from
// /usr/share/php (no composer), the app's own classes from app/ by a small PSR-4 loader.
require_once 'Illuminate/autoload.php';
spl_autoload_register(function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        $file = __DIR__ . '/../app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) require $file;
    }
});

// Everything Laravel writes (sessions, the package and service manifests) goes to one
// runtime directory that run.js chooses, so the app's own folder stays read-only. The
// manifests' paths are read when the Application is made.
$storage = getenv('LARAVEL_STORAGE') ?: dirname(__DIR__) . '/storage';
$_SERVER['APP_PACKAGES_CACHE'] = $storage . '/packages.php';
$_SERVER['APP_SERVICES_CACHE'] = $storage . '/services.php';
$app = new Illuminate\Foundation\Application(dirname(__DIR__));
$app->useStoragePath($storage);

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, App\Exceptions\Handler::class);
return $app;
