<?php
require __DIR__ . '/_layout.php';
session_start();
$user = $_SESSION['user']['name'] ?? null;
$cart = $_SESSION['cart'] ?? [];
$body = '<h1>Shop (PHP)</h1><p>Session id: <code>' . h(session_id()) . '</code></p>';
if ($user === null) {
    $body .= '<p>Not logged in.</p><form method="post" action="/login.php"><input name="name" value="ann"> <button>Log in (PHP)</button></form>';
} else {
    $body .= '<p>Logged in as <b>' . h($user) . '</b>.</p><form method="post" action="/logout.php"><button>Log out (PHP)</button></form>';
}
$body .= '<h2>Cart</h2><ul>';
foreach ($cart as $sku => $qty) {
    $body .= '<li>' . h($sku) . ' × ' . (int) $qty . '</li>';
}
$body .= '</ul><form method="post" action="/cart.php"><input name="sku" value="php-mug"> <button>Add to cart (PHP)</button></form>';
$body .= '<p>Counter (incremented by both sides): ' . (int) ($_SESSION['count'] ?? 0) . '</p>';
page('Shop (PHP)', $body);
