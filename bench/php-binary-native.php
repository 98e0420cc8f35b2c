<?php
// The PHP side of bench/binary-codecs.bench.js: encodes the sessions of bench/gen-sessions.php
// with igbinary_serialize() and msgpack_pack(), and times PHP's own igbinary and msgpack
// functions on them inside the php CLI (process start excluded).
//
//   php bench/php-binary-native.php <sessions.json> [seconds per measurement]
// Prints JSON: { "encoded": { "igbinary": [base64…], "msgpack": [base64…] },
//                "results": { "<function>": { "sessions": n, "bytes": n, "ns": n } } }
// (CPU time, best of three rounds after a warm-up pass).
ob_start();
require_once __DIR__ . '/../fixtures/igbinary/corpus-lib.php';

$data = json_decode(file_get_contents($argv[1] ?? throw new RuntimeException('usage: php-binary-native.php <sessions.json> [seconds]')), true);
$seconds = (float) ($argv[2] ?? 2);
$arrays = array_map(fn ($b) => unserialize(base64_decode($b)), $data['php_serialize']);

/** CPU time of this process (user + system), in ns: on a shared machine wall time measures the neighbours. */
function cpu_ns(): int
{
    $u = getrusage();
    return ($u['ru_utime.tv_sec'] + $u['ru_stime.tv_sec']) * 1000000000 + ($u['ru_utime.tv_usec'] + $u['ru_stime.tv_usec']) * 1000;
}

/** Runs $pass (one pass over every session, returns the bytes it handled) for ~$seconds of CPU time; the best of 3 rounds. */
function measure(callable $pass, int $sessionsPerPass, float $seconds): array
{
    $pass();
    $best = null;
    for ($r = 0; $r < 3; $r++) {
        $bytes = 0;
        $passes = 0;
        $start = cpu_ns();
        do {
            $bytes += $pass();
            $passes++;
            $ns = cpu_ns() - $start;
        } while ($ns < $seconds / 3 * 1e9);
        if ($best === null || $bytes / $ns > $best['bytes'] / $best['ns']) $best = ['sessions' => $passes * $sessionsPerPass, 'bytes' => $bytes, 'ns' => $ns];
    }
    return $best;
}

$n = count($arrays);
$encoded = [];
$results = [];
foreach (BINARY_FORMATS as $f) {
    $bytes = array_map(fn ($a) => binary_encode($f, $a), $arrays);
    $encoded[$f] = array_map('base64_encode', $bytes);
    [$decode, $encode] = $f === 'igbinary' ? ['igbinary_unserialize', 'igbinary_serialize'] : ['msgpack_unpack', 'msgpack_pack'];
    $results[$decode] = measure(function () use ($bytes, $decode) {
        $b = 0;
        foreach ($bytes as $s) {
            $decode($s);
            $b += strlen($s);
        }
        return $b;
    }, $n, $seconds);
    $results[$encode] = measure(function () use ($arrays, $encode) {
        $b = 0;
        foreach ($arrays as $a) $b += strlen($encode($a));
        return $b;
    }, $n, $seconds);
}
ob_end_clean();
echo json_encode(['encoded' => $encoded, 'results' => $results]), "\n";
