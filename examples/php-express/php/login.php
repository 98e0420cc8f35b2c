<?php
// Log in: a new session id at privilege change, as PHP's manual advises.
session_start();
$name = trim((string) ($_POST['name'] ?? ''));
if ($name === '') {
    http_response_code(400);
    exit('name required');
}
session_regenerate_id(true);
$_SESSION['user'] = ['name' => $name, 'login_at' => time()];
header('Location: /', true, 303);
