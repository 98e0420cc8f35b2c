<?php
// Shared page chrome for the PHP side of the example. Both apps keep their state in the
// same $_SESSION (the same session files, the same PHPSESSID cookie).
function node_url(): string {
    return getenv('NODE_URL') ?: 'http://127.0.0.1:3000';
}
function h($s): string {
    return htmlspecialchars((string) $s, ENT_QUOTES, 'UTF-8');
}
function page(string $title, string $body): void {
    header('Content-Type: text/html; charset=utf-8');
    $node = h(node_url());
    echo "<!doctype html><html><head><meta charset='utf-8'><title>" . h($title) . "</title>",
        "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}form{display:inline}</style></head><body>",
        "<p><b>PHP side</b> · <a href='/'>PHP home</a> · <a href='{$node}/'>Node side</a></p>",
        $body, "</body></html>";
}
