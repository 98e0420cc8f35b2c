/**
 * `encrypt => true` (Illuminate\Session\EncryptedStore): the stored payload is
 * Encrypter::encrypt(serialize($attributes)) with its default serialize = true, i.e. the
 * encrypted text is serialize() of the serialized attributes as one PHP string.
 */
import { DecodeError } from '../../errors.js';
import type { LaravelEncrypter } from './encrypter.js';

export interface LaravelPayloadCipher {
  seal(serialized: Uint8Array): Uint8Array;
  open(stored: Uint8Array, where: string): Uint8Array;
}

/** The `payloadCipher` option of the Laravel storage backends, for an app with `encrypt => true`. */
export function laravelPayloadCipher(encrypter: LaravelEncrypter): LaravelPayloadCipher {
  return {
    seal(serialized) {
      const wrapped = Buffer.concat([Buffer.from(`s:${serialized.length}:"`, 'latin1'), serialized, Buffer.from('";', 'latin1')]);
      return Buffer.from(encrypter.encrypt(wrapped), 'latin1');
    },
    open(stored, where) {
      const { plaintext } = encrypter.decrypt(Buffer.from(stored).toString('latin1'), where);
      const head = /^s:(\d+):"/.exec(plaintext.subarray(0, 24).toString('latin1'));
      const len = head ? Number(head[1]) : -1;
      const start = head ? head[0].length : 0;
      if (!head || plaintext.length !== start + len + 2 || plaintext.toString('latin1', start + len) !== '";') {
        throw new DecodeError('the decrypted payload is not a serialized string', 0, where);
      }
      return plaintext.subarray(start, start + len);
    },
  };
}
