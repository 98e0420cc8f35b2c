<?php
// Add one item to the cart (sku => quantity).
session_start();
$sku = (string) ($_POST['sku'] ?? $_GET['sku'] ?? '');
if ($sku === '') {
    http_response_code(400);
    exit('sku required');
}
$_SESSION['cart'][$sku] = ($_SESSION['cart'][$sku] ?? 0) + 1;
header('Location: /', true, 303);
