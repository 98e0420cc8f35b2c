// io: 'auto' — synchronous file I/O on local file systems, the thread pool on network and FUSE
// ones, where one call may wait as long as the network does.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectIoMode, ioModeForFsType, remoteFsName } from '../../../../dist/backends/shared/file-io/fs-kind.js';
import { FileSessionStore } from '../../../../dist/backends/files/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-fs-kind-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('network and FUSE file systems get the thread pool; local ones synchronous calls', () => {
  const remote = { nfs: 0x6969, cifs: 0xff534d42, smb2: 0xfe534d42, smb: 0x517b, ceph: 0x00c36400, '9p': 0x01021997, fuse: 0x65735546, lustre: 0x0bd00bd0 };
  for (const [name, type] of Object.entries(remote)) {
    assert.equal(remoteFsName(type), name);
    assert.equal(ioModeForFsType(type), 'async', name);
  }
  const local = { ext4: 0xef53, xfs: 0x58465342, btrfs: 0x9123683e, tmpfs: 0x01021994, overlayfs: 0x794c7630, zfs: 0x2fc12fc1 };
  for (const [name, type] of Object.entries(local)) {
    assert.equal(remoteFsName(type), undefined, name);
    assert.equal(ioModeForFsType(type), 'sync', name);
  }
});

test('detectIoMode reads the directory\'s file system type; an unreadable directory counts as local', () => {
  assert.equal(detectIoMode(tmp), ioModeForFsType(Number(fs.statfsSync(tmp).type)));
  assert.equal(detectIoMode(path.join(tmp, 'missing', 'dir')), 'sync');
});

test('FileSessionStore: io defaults to auto, resolved for its save path; sync and async are kept as given', () => {
  const detected = ioModeForFsType(Number(fs.statfsSync(tmp).type));
  assert.equal(new FileSessionStore({ savePath: tmp }).io, detected);
  assert.equal(new FileSessionStore({ savePath: tmp, io: 'auto' }).io, detected);
  assert.equal(new FileSessionStore({ savePath: `2;${tmp}`, io: 'auto' }).io, detected);
  assert.equal(new FileSessionStore({ savePath: tmp, io: 'sync' }).io, 'sync');
  assert.equal(new FileSessionStore({ savePath: tmp, io: 'async' }).io, 'async');
  assert.throws(() => new FileSessionStore({ savePath: tmp, io: /** @type {any} */ ('fast') }), (/** @type {any} */ err) => err.code === 'ECONFIG' && /io must be 'auto', 'sync' or 'async', got "fast"/.test(err.message));
});
