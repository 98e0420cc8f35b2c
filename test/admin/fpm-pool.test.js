// FPM pool files as php-fpm reads them for gc --system: `$pool` is replaced wherever it stands
// (fpm_conf_expand_pool_name() uses strstr), so a pool's save path is the directory FPM uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFpmPools, discoverSystemSessions } from 'sessctl/admin';
import { tempDir, removeDir } from '../helpers/cli.js';

const savePathOf = (pool) => pool.session.get('session.save_path')?.value;

test('$pool is replaced inside a longer name too, as FPM does ("$pool_sessions" is "shop_sessions")', () => {
  const [shop, odd] = parseFpmPools(
    '[shop]\nphp_admin_value[session.save_path] = /srv/$pool_sessions\n' + '[a$&b]\nphp_value[session.save_path] = "/srv/$pool/$pool2"\n',
    'www.conf',
  );
  assert.equal(savePathOf(shop), '/srv/shop_sessions');
  assert.equal(savePathOf(odd), '/srv/a$&b/a$&b2', 'the pool name is taken as it is, not as a replacement pattern');
});

test('gc --system collects the directory of a pool whose save path has "$pool_" in it', async () => {
  const root = tempDir('fpm-pool');
  try {
    const put = (rel, text) => {
      mkdirSync(join(root, rel, '..'), { recursive: true });
      writeFileSync(join(root, rel), text);
    };
    mkdirSync(join(root, 'shop_sessions'));
    mkdirSync(join(root, 'sessions'));
    put('etc/php/8.2/fpm/php.ini', `session.save_path = ${root}/sessions\nsession.gc_maxlifetime = 1440\n`);
    put('etc/php/8.2/fpm/pool.d/shop.conf', `[shop]\nphp_admin_value[session.save_path] = ${root}/$pool_sessions\nphp_admin_value[session.gc_maxlifetime] = 86400\n`);
    const d = await discoverSystemSessions({ root, noPhp: true, env: {} });
    assert.deepEqual(d.skipped, []);
    assert.deepEqual(
      d.targets.map((t) => [t.savePath, t.maxlifetime]),
      [
        [join(root, 'sessions'), 1440],
        [join(root, 'shop_sessions'), 86400],
      ],
    );
  } finally {
    removeDir(root);
  }
});
