// Error messages name the session path the reader knows, with the system call's error, not
// Node's path argument — which below a pinned directory is /proc/<pid>/fd/N/… and means nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTmpfs } from '../../../helpers/tmpfs.js';
import { osErrorText } from '../../../../dist/backends/shared/file-io/pinned-dir.js';
import { createSessionDirs, parseSavePath } from '../../../../dist/backends/files/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-os-error-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('osErrorText keeps the errno and its text, drops the syscall and the path Node appends', () => {
  const err = (() => {
    try {
      fs.mkdirSync('/proc/self/fd/999999/x');
    } catch (e) {
      return e;
    }
  })();
  assert.match(String(/** @type {Error} */ (err).message), /mkdir '\/proc\/self\/fd/);
  assert.equal(osErrorText(err), 'ENOENT: no such file or directory');
  assert.equal(osErrorText(new Error('plain, with a comma')), 'plain, with a comma');
});

test('mkdirs out of inodes (ENOSPC): the directory is named by its path, without the /proc path it was made through', async (t) => {
  await onTmpfs(t, fs.mkdtempSync(path.join(tmp, 'mnt-')), 'size=64k,nr_inodes=20', async (mnt) => {
    const err = await createSessionDirs(parseSavePath(`2;${mnt}`), { bitsPerCharacter: 4 }).then(
      () => null,
      (/** @type {any} */ e) => e,
    );
    assert.ok(err, 'mkdirs failed');
    assert.equal(err.code, 'ESESSIONDIR');
    assert.match(err.message, /cannot create directory: ENOSPC: no space left on device$/);
    assert.ok(err.message.startsWith(mnt + '/'), err.message);
    assert.doesNotMatch(err.message, /\/proc\//);
  });
});
