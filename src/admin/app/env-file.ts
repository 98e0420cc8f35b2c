/** Reading a framework app's dotenv files (`.env`, `.env.local`, `.env.<APP_ENV>`, …). */
import { statSync } from 'node:fs';
import { readConfigFile } from '../config-file.js';

/**
 * One of the app's dotenv files, read with {@link readConfigFile} (no FIFO, device, oversized
 * file or symlink another user owns), and — when running as root — only when root or the owner
 * of the app directory owns it. An app's `.env` is its owner's: a file of anyone else's there
 * is readable only because sessctl is root, and its values would reach the output and the
 * error messages. Refusing it is simpler than reading it as the app's owner: actAsOwner
 * (identity.ts) gives up root for good, and these settings are read before it decides whose
 * identity the command takes (the save path's owner, not necessarily the app's).
 * @throws ConfigError when it is refused or cannot be read.
 */
export function readAppEnvFile(app: string, file: string): string {
  return readConfigFile(file, 'dotenv file', { owners: [0, statSync(app).uid] });
}
