<?php
namespace App\Exceptions;

use Illuminate\Foundation\Exceptions\Handler as ExceptionHandler;
use Illuminate\Http\Response;
use Symfony\Component\HttpKernel\Exception\HttpExceptionInterface;

class Handler extends ExceptionHandler
{
    // Plain-text error pages: the example has no views, so neither response() (its factory
    // needs one) nor the default error pages. A 419 is a CSRF token mismatch.
    protected function renderHttpException(HttpExceptionInterface $e)
    {
        return new Response($e->getStatusCode() . ' ' . ($e->getMessage() ?: 'Error'), $e->getStatusCode(), ['Content-Type' => 'text/plain'] + $e->getHeaders());
    }
}
