// The shared session contract, on Laravel's file driver layout.
import { after } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LaravelFileSessionStore } from 'sessctl/laravel-files';
import { contractSuite } from '../../session/contract.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sessctl-contract-laravel-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

contractSuite('laravel-files', async (settings = {}) => {
  const dir = path.join(tmp, `d${n++}`);
  fs.mkdirSync(dir);
  const store = new LaravelFileSessionStore({ path: dir, ...settings });
  return {
    store,
    idPattern: /^[A-Za-z0-9]{40}$/,
    raw: async (id) => (fs.existsSync(store.pathOf(id)) ? fs.readFileSync(store.pathOf(id)) : null),
    plant: async (id, bytes) => fs.writeFileSync(store.pathOf(id), bytes),
  };
});
