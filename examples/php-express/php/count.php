<?php
// Increment a counter shared with the Node side (used to show that no update is lost).
session_start();
$_SESSION['count'] = ($_SESSION['count'] ?? 0) + 1;
header('Content-Type: text/plain');
echo $_SESSION['count'];
