<?php
// PHP's side of bench/middleware.bench.js: the same counter, with PHP's own session handling
// (the save handler and path come from -d options on the command line).
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
echo $_SESSION['n'];
