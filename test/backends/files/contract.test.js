// The shared session contract, on the files backend (depth 0 and depth 2).
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSessionStore, createSessionDirs, parseSavePath } from 'sessctl/files';
import { contractSuite } from '../../session/contract.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-contract-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

// Both I/O modes: synchronous (the default) and through the thread pool (io: 'async').
for (const [depth, io] of /** @type {const} */ ([[0, 'sync'], [2, 'sync'], [2, 'async']])) {
  contractSuite(`files (depth ${depth}, io ${io})`, async (settings = {}) => {
    const dir = path.join(tmp, `d${n++}`);
    fs.mkdirSync(dir);
    const savePath = depth ? `${depth};${dir}` : dir;
    if (depth) await createSessionDirs(parseSavePath(savePath), { bitsPerCharacter: 6 });
    const store = new FileSessionStore({ savePath, io, ...settings });
    return {
      store,
      raw: async (id) => (fs.existsSync(store.pathOf(id)) ? fs.readFileSync(store.pathOf(id)) : null),
      plant: async (id, bytes) => fs.writeFileSync(store.pathOf(id), bytes, { mode: 0o600 }),
      age: async (id, seconds) => {
        const t = Date.now() / 1000 - seconds;
        fs.utimesSync(store.pathOf(id), t, t);
      },
    };
  });
}
