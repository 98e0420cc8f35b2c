<?php
// Test helper for test/store-*.test.js: drives PHP's own session module (files handler).
// Usage: php session.php '<json>' where json = {
//   "ini": {"session.save_path": "...", ...},   applied with ini_set before anything else
//   "action": "create" | "read" | "loop" | "hold",
//   "id": "...",              session_id() before session_start() (optional for create)
//   "set": {"k": <json value>}, values merged into $_SESSION (create)
//   "php": "<code>",          extra PHP run with $_SESSION in scope (create), e.g. objects
//   "n": 100, "tag": "p1", "sleepUs": 0, "goFile": "/path"  (loop: increments counters n
//                            times, starting once goFile exists)
//   "holdMs": 500                          (hold: keeps the lock that long; without it,
//                                           until a line arrives on stdin)
// }
// Prints one JSON line. Any PHP warning is turned into a failure (exit 1).
set_error_handler(function ($no, $str) { fwrite(STDERR, "PHP warning: $str\n"); exit(1); });
$cfg = json_decode($argv[1], true);
ini_set('session.use_cookies', '0');
ini_set('session.use_only_cookies', '0');
ini_set('session.cache_limiter', '');
ini_set('session.gc_probability', '0');
foreach ($cfg['ini'] ?? [] as $k => $v) {
    if (ini_set($k, (string)$v) === false) { fwrite(STDERR, "ini_set($k) failed\n"); exit(1); }
}
$action = $cfg['action'];
if ($action === 'create') {
    if (isset($cfg['id'])) session_id($cfg['id']);
    session_start();
    foreach ($cfg['set'] ?? [] as $k => $v) $_SESSION[$k] = $v;
    if (isset($cfg['php'])) eval($cfg['php']);
    $id = session_id();
    session_write_close();
    echo json_encode(['id' => $id]), "\n";
} elseif ($action === 'read') {
    session_id($cfg['id']);
    session_start(['read_and_close' => true]);
    echo json_encode(['data' => $_SESSION, 'serialized' => serialize($_SESSION)]), "\n";
} elseif ($action === 'loop') {
    $tag = $cfg['tag'];
    // Start barrier: wait for the test to create this file, so that all writers overlap.
    if (isset($cfg['goFile'])) { echo "ready\n"; while (!file_exists($cfg['goFile'])) usleep(1000); }
    for ($i = 0; $i < $cfg['n']; $i++) {
        session_id($cfg['id']);
        session_start();
        $_SESSION[$tag] = ($_SESSION[$tag] ?? 0) + 1;
        $_SESSION['total'] = ($_SESSION['total'] ?? 0) + 1;
        if (!empty($cfg['sleepUs'])) usleep($cfg['sleepUs']);
        session_write_close();
    }
    echo json_encode(['done' => $cfg['n']]), "\n";
} elseif ($action === 'hold') {
    session_id($cfg['id']);
    session_start();
    echo json_encode(['locked' => true]), "\n";
    fflush(STDOUT);
    if (isset($cfg['holdMs'])) usleep($cfg['holdMs'] * 1000);
    else fgets(STDIN);
    session_write_close();
} else {
    fwrite(STDERR, "unknown action $action\n");
    exit(2);
}
