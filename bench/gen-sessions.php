<?php
// Realistic application sessions for bench/codec.bench.js: logged-in users, CSRF tokens,
// flash messages, carts, permission lists, recently visited pages and a few floats,
// 0.2–20 KB each. Deterministic (seeded mt_rand).
//
//   php bench/gen-sessions.php <out.json> [count]
// Writes {"php": [base64…], "php_serialize": [base64…]}: the same sessions in both handlers.
ob_start(); // session_start() must not see output
require_once __DIR__ . '/../fixtures/lib.php';

mt_srand(424242);
$out = $argv[1] ?? throw new RuntimeException('usage: php bench/gen-sessions.php <out.json> [count]');
$count = (int) ($argv[2] ?? 400);

function token(int $bytes): string
{
    $s = '';
    for ($i = 0; $i < $bytes; $i++) $s .= chr(mt_rand(0, 255));
    return bin2hex($s);
}

function pick(array $a)
{
    return $a[mt_rand(0, count($a) - 1)];
}

function words(int $n): string
{
    static $w = ['order', 'saved', 'profile', 'updated', 'your', 'payment', 'was', 'accepted', 'please', 'check',
        'email', 'address', 'new', 'item', 'added', 'to', 'cart', 'café', 'Größe', 'données', 'заказ'];
    $out = [];
    for ($i = 0; $i < $n; $i++) $out[] = pick($w);
    return implode(' ', $out);
}

/** One session; $scale grows the lists so sizes spread from ~0.2 KB to ~20 KB. */
function app_session(int $scale): array
{
    $s = ['_token' => token(20), 'last_activity' => 1700000000 + mt_rand(0, 9999999)];
    if ($scale === 0) return $s + ['locale' => pick(['en', 'fr', 'de_DE']), 'flash' => ['new' => [], 'old' => []], 'referer' => '/' . pick(['products', 'blog']) . '/' . mt_rand(1, 9999)];
    $uid = mt_rand(1, 999999);
    $user = [
        'id' => $uid, 'email' => "user$uid@example.com", 'name' => words(2), 'verified' => (bool) mt_rand(0, 1),
        'created_at' => '2023-' . mt_rand(10, 12) . '-0' . mt_rand(1, 9) . ' 10:00:00', 'balance' => mt_rand(0, 1000000) / 100,
        'roles' => array_slice(['ROLE_USER', 'ROLE_EDITOR', 'ROLE_ADMIN', 'ROLE_BILLING'], 0, mt_rand(1, 4)),
    ];
    $s['user'] = mt_rand(0, 2) ? $user : new App\Model\User($uid, $user['email'], $user['roles'], '$2y$10$' . token(22));
    $s['permissions'] = [];
    for ($i = 0, $n = mt_rand(2, 6 * $scale); $i < $n; $i++) $s['permissions'][] = pick(['read', 'write', 'delete', 'export']) . ':' . pick(['posts', 'users', 'orders', 'invoices', 'reports']) . ":$i";
    $s['flash'] = ['new' => [], 'old' => mt_rand(0, 1) ? ['success' => [words(5)]] : []];
    if (mt_rand(0, 1)) {
        $items = [];
        for ($i = 0, $n = mt_rand(1, 4 * $scale); $i < $n; $i++) {
            $items[] = ['sku' => sprintf('SKU-%06d', mt_rand(0, 999999)), 'name' => words(3), 'qty' => mt_rand(1, 5),
                'price' => mt_rand(99, 99999) / 100, 'options' => ['size' => pick(['S', 'M', 'L']), 'gift' => (bool) mt_rand(0, 1)]];
        }
        $s['cart'] = ['items' => $items, 'currency' => 'EUR', 'discount' => mt_rand(0, 3) ? null : 0.15, 'updated' => 1700000000 + mt_rand(0, 99999)];
    }
    $s['visited'] = [];
    for ($i = 0, $n = mt_rand(1, 5 * $scale); $i < $n; $i++) $s['visited'][] = ['url' => '/' . pick(['products', 'blog', 'account', 'search']) . '/' . mt_rand(1, 9999) . '?q=' . rawurlencode(words(1)), 'at' => 1700000000 + $i * 37];
    $s['prefs'] = ['theme' => pick(['dark', 'light']), 'tz' => pick(['Europe/Paris', 'UTC', 'America/New_York']), 'page_size' => pick([10, 25, 50]), 'zoom' => pick([1.0, 1.25, 0.9])];
    if (mt_rand(0, 3) === 0) $s['login_at'] = new DateTimeImmutable('@' . (1700000000 + mt_rand(0, 9999999)));
    if (mt_rand(0, 2) === 0) $s['geo'] = ['lat' => mt_rand(-90000000, 90000000) / 1e6, 'lng' => mt_rand(-180000000, 180000000) / 1e6];
    return $s;
}

$dir = sys_get_temp_dir() . '/sessctl-benchgen-' . getmypid();
@mkdir($dir, 0700);
$result = ['php' => [], 'php_serialize' => []];
for ($i = 0; $i < $count; $i++) {
    $scale = [0, 1, 1, 2, 2, 3, 5, 8, 12, 18][$i % 10];
    $data = app_session($scale);
    foreach (array_keys($result) as $h) $result[$h][] = base64_encode(fixture_session_encode($dir, $h, $data));
}
array_map('unlink', glob("$dir/sess_*") ?: []);
@rmdir($dir);
file_put_contents($out, json_encode($result));
ob_end_clean();
$sizes = array_map(fn ($b) => strlen(base64_decode($b)), $result['php']);
fprintf(STDERR, "%d sessions, %d..%d bytes, %.1f KB total (php handler)\n", $count, min($sizes), max($sizes), array_sum($sizes) / 1024);
