/**
 * Laravel's Illuminate\Encryption\Encrypter payload: base64 of the JSON `{iv, value, mac, tag}`,
 * where `value` is the base64 ciphertext (openssl_encrypt's default output), `mac` the hex
 * HMAC-SHA256 of `iv . value` (base64 texts, CBC ciphers) and `tag` the base64 GCM tag.
 * Keys: APP_KEY (`base64:` + base64, or the raw string), plus previous keys tried on decryption
 * (APP_PREVIOUS_KEYS, Laravel 11). Every refusal is one error without detail on which check
 * failed first, and the MAC is compared in constant time.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError, SessctlError } from '../../errors.js';

export type LaravelCipher = 'aes-128-cbc' | 'aes-256-cbc' | 'aes-128-gcm' | 'aes-256-gcm';

// iv: openssl_cipher_iv_length() — 16 bytes for CBC, 12 for GCM.
const CIPHERS: Record<LaravelCipher, { size: number; aead: boolean; iv: number }> = {
  'aes-128-cbc': { size: 16, aead: false, iv: 16 },
  'aes-256-cbc': { size: 32, aead: false, iv: 16 },
  'aes-128-gcm': { size: 16, aead: true, iv: 12 },
  'aes-256-gcm': { size: 32, aead: true, iv: 12 },
};

export interface LaravelKeyOptions {
  /** APP_KEY as in `.env`: `base64:…`, or a raw key string / bytes. */
  key: string | Uint8Array;
  /** APP_PREVIOUS_KEYS (comma-separated in `.env`): also accepted when decrypting. */
  previousKeys?: ReadonlyArray<string | Uint8Array> | string;
  /** config('app.cipher'), any case; default `AES-256-CBC` (Laravel's config/app.php). */
  cipher?: string;
}

/** What a refused payload throws: code `EDECRYPT`. */
export class LaravelDecryptError extends SessctlError {
  constructor(where: string, options?: { cause?: unknown }) {
    super(`${where}: not a payload this APP_KEY encrypted (invalid, tampered with, or another key)`, 'EDECRYPT', options);
    this.name = 'LaravelDecryptError';
  }
}

/** APP_KEY → key bytes, as Laravel's EncryptionServiceProvider::parseKey does. */
export function parseAppKey(key: string | Uint8Array): Buffer {
  if (typeof key !== 'string') return Buffer.from(key);
  if (key === '') throw new ConfigError('APP_KEY is empty (Laravel: MissingAppKeyException)');
  return key.startsWith('base64:') ? Buffer.from(key.slice(7), 'base64') : Buffer.from(key, 'utf8');
}

/** The cipher name Laravel would accept, lower-cased. @throws ConfigError */
export function parseCipher(cipher = 'AES-256-CBC'): LaravelCipher {
  const c = cipher.toLowerCase();
  if (!Object.hasOwn(CIPHERS, c)) throw new ConfigError(`cipher ${JSON.stringify(cipher)} is not one Laravel supports (${Object.keys(CIPHERS).join(', ')})`);
  return c as LaravelCipher;
}

function splitKeys(keys: LaravelKeyOptions['previousKeys']): Array<string | Uint8Array> {
  if (keys === undefined) return [];
  if (typeof keys === 'string') return keys.split(',').map((k) => k.trim()).filter((k) => k !== '');
  return [...keys];
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** PHP's base64_decode($s, true) on the texts Laravel writes: refuses what is not base64 (length is not checked by PHP either). */
function strictBase64(s: unknown): Buffer | null {
  if (typeof s !== 'string' || !B64.test(s)) return null;
  return Buffer.from(s, 'base64');
}

export class LaravelEncrypter {
  readonly cipher: LaravelCipher;
  readonly #keys: Buffer[];

  /** @throws ConfigError for an unknown cipher or a key of the wrong length (as Laravel refuses them). */
  constructor(options: LaravelKeyOptions) {
    this.cipher = parseCipher(options.cipher);
    const size = CIPHERS[this.cipher].size;
    this.#keys = [options.key, ...splitKeys(options.previousKeys)].map((k, i) => {
      const bytes = parseAppKey(k);
      if (bytes.length !== size) {
        throw new ConfigError(`${i === 0 ? 'APP_KEY' : `previous key #${i}`} is ${bytes.length} bytes; ${this.cipher.toUpperCase()} needs ${size} (Laravel: "Unsupported cipher or incorrect key length")`);
      }
      return bytes;
    });
  }

  /** The current key (what new payloads and cookie prefixes use). */
  get key(): Buffer {
    return this.#keys[0]!;
  }

  /** Every key decryption tries: the current one first, then the previous ones. */
  get allKeys(): readonly Buffer[] {
    return this.#keys;
  }

  /** Encrypter::encrypt($value, false): the payload for raw bytes (serialize them first for `encrypt($v)`). */
  encrypt(plaintext: Uint8Array | string): string {
    const { aead, iv: ivLength } = CIPHERS[this.cipher];
    const iv = randomBytes(ivLength);
    const cipher = createCipheriv(this.cipher, this.key, iv);
    const value = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]).toString('base64');
    const ivText = iv.toString('base64');
    const tag = aead ? (cipher as unknown as { getAuthTag(): Buffer }).getAuthTag().toString('base64') : '';
    const mac = aead ? '' : hmac(this.key, ivText, value);
    // Field order and escaping as PHP's json_encode(compact(...), JSON_UNESCAPED_SLASHES) writes them (base64 needs no escaping).
    return Buffer.from(JSON.stringify({ iv: ivText, value, mac, tag }), 'utf8').toString('base64');
  }

  /**
   * Encrypter::decrypt($payload, false): the plaintext bytes, with the key that verified it.
   * @throws LaravelDecryptError when no key verifies (MAC or tag) or the payload is malformed.
   */
  decrypt(payload: string, where = 'payload'): { plaintext: Buffer; key: Buffer } {
    const p = parsePayload(payload);
    if (!p) throw new LaravelDecryptError(where);
    const { aead, iv: ivLength } = CIPHERS[this.cipher];
    const iv = strictBase64(p.iv);
    if (!iv || iv.length !== ivLength) throw new LaravelDecryptError(where);
    const tag = aead ? strictBase64(p.tag) : null;
    if (aead && (!tag || tag.length !== 16)) throw new LaravelDecryptError(where);
    if (!aead && typeof p.tag === 'string' && p.tag !== '') throw new LaravelDecryptError(where);
    const ciphertext = strictBase64(p.value);
    if (!ciphertext) throw new LaravelDecryptError(where);
    for (const key of this.#keys) {
      if (!aead && !macMatches(hmac(key, p.iv, p.value), p.mac)) continue;
      try {
        const d = createDecipheriv(this.cipher, key, iv);
        if (tag) (d as unknown as { setAuthTag(t: Buffer): void }).setAuthTag(tag);
        return { plaintext: Buffer.concat([d.update(ciphertext), d.final()]), key };
      } catch {
        // GCM: a tag made with another key; CBC: a MAC that verified cannot come with bad padding,
        // but try the next key rather than report which check failed.
      }
    }
    throw new LaravelDecryptError(where);
  }
}

interface Payload {
  iv: string;
  value: string;
  mac: string;
  tag?: unknown;
}

function parsePayload(payload: string): Payload | null {
  const json = strictBase64(payload.trim());
  if (!json) return null;
  let p: unknown;
  try {
    p = JSON.parse(json.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return null;
  const o = p as Record<string, unknown>;
  // Laravel's validPayload(): iv, value and mac present (mac '' for AEAD ciphers).
  if (typeof o.iv !== 'string' || typeof o.value !== 'string' || typeof o.mac !== 'string') return null;
  return o as unknown as Payload;
}

function hmac(key: Buffer, iv: string, value: string): string {
  return createHmac('sha256', key).update(iv + value, 'utf8').digest('hex');
}

/** hash_equals(): constant time over equal lengths (the length of a hex MAC is no secret). */
function macMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
