<?php
// Times PHP's own codec inside the php CLI (process start excluded) on the sessions of
// bench/gen-sessions.php, for bench/codec.bench.js.
//
//   php bench/php-native.php <sessions.json> [seconds per measurement]
// Prints JSON: { "results": { "<operation>": { "sessions": n, "bytes": n, "ns": n } }, "changedDigest": md5 }
// (best of three rounds, after a warm-up pass; the digest is of the changed sessions' serialize()).
ob_start();
require_once __DIR__ . '/../fixtures/lib.php';

$data = json_decode(file_get_contents($argv[1] ?? throw new RuntimeException('usage: php-native.php <sessions.json> [seconds]')), true);
$seconds = (float) ($argv[2] ?? 2);
$encoded = ['php' => array_map('base64_decode', $data['php']), 'php_serialize' => array_map('base64_decode', $data['php_serialize'])];
$arrays = array_map('unserialize', $encoded['php_serialize']); // the same sessions as PHP arrays

/**
 * Runs $pass (one pass over every session, returns the bytes it handled) for ~$seconds:
 * a warm-up pass, then 3 rounds; the best round counts, as in bench/codec.bench.js.
 */
function measure(callable $pass, int $sessionsPerPass, float $seconds): array
{
    $pass(); // warm-up
    $best = null;
    for ($r = 0; $r < 3; $r++) {
        $bytes = 0;
        $passes = 0;
        $start = hrtime(true);
        do {
            $bytes += $pass();
            $passes++;
            $ns = hrtime(true) - $start;
        } while ($ns < $seconds / 3 * 1e9);
        if ($best === null || $bytes / $ns > $best['bytes'] / $best['ns']) $best = ['sessions' => $passes * $sessionsPerPass, 'bytes' => $bytes, 'ns' => $ns];
    }
    return $best;
}

function bench_request_change(array $s): array
{
    $s['last_activity'] = 1800000000;
    if (isset($s['cart']['items'][0])) $s['cart']['items'][0]['qty'] = 99;
    return $s;
}

$dir = sys_get_temp_dir() . '/sessctl-benchnative-' . getmypid();
@mkdir($dir, 0700);
$n = count($arrays);
$results = [];

$results['unserialize'] = measure(function () use ($encoded) {
    $b = 0;
    foreach ($encoded['php_serialize'] as $s) {
        unserialize($s);
        $b += strlen($s);
    }
    return $b;
}, $n, $seconds);
/** Times serialize() over every array of $list. */
function measure_serialize(array $list, float $seconds): array
{
    return measure(function () use ($list) {
        $b = 0;
        foreach ($list as $a) $b += strlen(serialize($a));
        return $b;
    }, count($list), $seconds);
}
$results['serialize'] = measure_serialize($arrays, $seconds);

// The same sessions after what a request typically does (bench/codec.bench.js makes the same
// change): a new last_activity, and one cart line's quantity.
$changed = array_map('bench_request_change', $arrays);
$results['serialize:changed'] = measure_serialize($changed, $seconds);
$changedDigest = md5(implode('', array_map('serialize', $changed)));

foreach (['php', 'php_serialize'] as $h) {
    fixture_session_begin($dir, $h);
    $results["session_decode:$h"] = measure(function () use ($encoded, $h) {
        $b = 0;
        foreach ($encoded[$h] as $s) {
            $_SESSION = [];
            session_decode($s);
            $b += strlen($s);
        }
        return $b;
    }, $n, $seconds);
    $results["session_encode:$h"] = measure(function () use ($arrays) {
        $b = 0;
        foreach ($arrays as $a) {
            $_SESSION = $a;
            $b += strlen(session_encode());
        }
        return $b;
    }, $n, $seconds);
    session_abort();
}
array_map('unlink', glob("$dir/sess_*") ?: []);
@rmdir($dir);
ob_end_clean();
echo json_encode(['results' => $results, 'changedDigest' => $changedDigest]), "\n";
