<?php
namespace App\Providers;

use App\Auth\JsonUserProvider;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Route;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        Auth::provider('json', fn ($app, array $config) => new JsonUserProvider($config['file']));
        Route::middleware('web')->group(base_path('routes/web.php'));
    }
}
