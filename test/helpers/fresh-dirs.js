// Empty directories for one test file, each new, all under one temporary directory that is
// removed when the file's tests end.
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * @param {string} prefix the temporary directory's name prefix
 * @returns {() => string} makes the next empty directory and returns its path
 */
export function freshDirs(prefix) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  return () => {
    const d = path.join(tmp, `d${n++}`);
    fs.mkdirSync(d);
    return d;
  };
}
