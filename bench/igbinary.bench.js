// igbinary: sessctl's decoder and encoder against PHP's own igbinary_unserialize() /
// igbinary_serialize() on the same session-shaped value, each timed inside its own runtime.
// Usage: npm run bench -- igbinary   (env: BENCH_ITER, default 20000)
import { spawnSync } from 'node:child_process';
import { igbinarySerialize, igbinaryUnserialize } from 'sessctl';

const ITER = Number(process.env.BENCH_ITER ?? 20000);
const PHP = process.env.PHP_BINARY || 'php';
if (spawnSync(PHP, ['-r', 'exit(extension_loaded("igbinary") ? 0 : 1);']).status !== 0) {
  console.log('php-igbinary missing: skipping the igbinary benchmark');
  process.exit(0);
}

// A typical logged-in session: scalars, a nested cart, an object, repeated strings.
const MAKE = `
class User { public $id = 12345; public $name = 'Jane Example'; protected $roles = ['editor', 'viewer']; private $flags = ['beta' => true]; }
$v = ['user' => new User, 'csrf' => str_repeat('a', 40), 'cart' => [], 'seen' => time(), 'ratio' => 0.75];
for ($i = 0; $i < 20; $i++) $v['cart'][] = ['sku' => "SKU-$i", 'qty' => $i % 4 + 1, 'price' => 9.99 + $i, 'tags' => ['sale', 'new']];`;

const php = spawnSync(PHP, ['-r', `${MAKE}
  $b = igbinary_serialize($v); $n = (int)$argv[1];
  $t = hrtime(true); for ($i = 0; $i < $n; $i++) igbinary_unserialize($b); $d = (hrtime(true) - $t) / 1e9;
  $t = hrtime(true); for ($i = 0; $i < $n; $i++) igbinary_serialize($v); $e = (hrtime(true) - $t) / 1e9;
  echo json_encode(['bytes' => base64_encode($b), 'decode' => $n / $d, 'encode' => $n / $e]);`, String(ITER)], { encoding: 'utf8' });
if (php.status !== 0) throw new Error(php.stderr);
const { bytes, decode: phpDecode, encode: phpEncode } = JSON.parse(php.stdout);
const buf = Buffer.from(bytes, 'base64');

const value = igbinaryUnserialize(buf);
if (!Buffer.from(igbinarySerialize(value)).equals(buf)) throw new Error('re-encoding differs from PHP’s bytes');
for (let i = 0; i < 2000; i++) igbinarySerialize(igbinaryUnserialize(buf)); // warm-up
let t = process.hrtime.bigint();
for (let i = 0; i < ITER; i++) igbinaryUnserialize(buf);
const nodeDecode = ITER / (Number(process.hrtime.bigint() - t) / 1e9);
t = process.hrtime.bigint();
for (let i = 0; i < ITER; i++) igbinarySerialize(value);
const nodeEncode = ITER / (Number(process.hrtime.bigint() - t) / 1e9);

console.log(`${PHP} ${spawnSync(PHP, ['-r', 'echo PHP_VERSION, " igbinary ", phpversion("igbinary");'], { encoding: 'utf8' }).stdout}, node ${process.version}, a ${buf.length}-byte session value, ${ITER} times each`);
console.log('\n         node (ops/s)  php (ops/s)  node/php');
for (const [name, n, p] of [['decode', nodeDecode, phpDecode], ['encode', nodeEncode, phpEncode]]) {
  console.log(`${name.padEnd(7)}  ${n.toFixed(0).padStart(12)}  ${p.toFixed(0).padStart(11)}  ${(n / p).toFixed(2).padStart(8)}`);
}
