/**
 * PHP 8's text for doubles in serialize() (serialize_precision = -1): the shortest digits
 * that round-trip, in exponent form when the decimal exponent is < -4 or ≥ 17.
 */

/**
 * The text PHP 8's serialize() writes for a double (without the `d:` tag and `;`):
 * `1`, `0.1`, `-0`, `1.0E+17`, `2.5E-7`, `INF`, `-INF`, `NAN`. Never throws.
 */
export function formatPhpFloat(n: number): string {
  if (n !== n) return 'NAN';
  if (n === Infinity) return 'INF';
  if (n === -Infinity) return '-INF';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const abs = n < 0 ? -n : n;
  // Fast path: PHP's plain-decimal range [1e-4, 1e17) lies inside JS's own ([1e-6, 1e21)).
  if (abs >= 1e-4 && abs < 1e17) return String(n);
  // toExponential() without an argument gives the shortest round-trip digits, like PHP's zend_gcvt mode 0.
  const exp = n.toExponential();
  const e = exp.indexOf('e');
  const exponent = Number(exp.slice(e + 1));
  if (exponent < -4 || exponent >= 17) {
    let mantissa = exp.slice(0, e);
    if (mantissa.indexOf('.') < 0) mantissa += '.0';
    return `${mantissa}E${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  // In this exponent range String() prints plain decimal notation with the same digits.
  return String(n);
}

const DIGIT = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Parses the text PHP's unserialize() accepts after `d:` (`[+-]digits[.digits][e[+-]digits]`,
 * `.5`, `5.`, `INF`, `-INF`, `NAN`). Returns undefined when it is not that grammar.
 */
export function parsePhpFloatText(text: string): number | undefined {
  if (text === 'NAN') return NaN;
  if (text === 'INF') return Infinity;
  if (text === '-INF') return -Infinity;
  let i = 0;
  const n = text.length;
  if (i < n && (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d)) i++;
  let intDigits = 0;
  while (i < n && DIGIT(text.charCodeAt(i))) i++, intDigits++;
  let fracDigits = 0;
  if (i < n && text.charCodeAt(i) === 0x2e) {
    i++;
    while (i < n && DIGIT(text.charCodeAt(i))) i++, fracDigits++;
  }
  if (intDigits + fracDigits === 0) return undefined;
  if (i < n && (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45)) {
    i++;
    if (i < n && (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d)) i++;
    let expDigits = 0;
    while (i < n && DIGIT(text.charCodeAt(i))) i++, expDigits++;
    if (expDigits === 0) return undefined;
  }
  if (i !== n) return undefined;
  return Number(text);
}
