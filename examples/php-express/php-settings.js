// The php.ini settings both sides must agree on, as `php -S` arguments. The Node side
// mirrors them in node/app.js (strict mode, cookie attributes) and in the FileSessionStore
// options (save path, serialize handler).
export function phpServerArgs({ host, port, savePath, docroot, ini: overrides = {} }) {
  const ini = {
    'session.save_handler': 'files',
    'session.save_path': savePath,
    'session.serialize_handler': 'php',
    'session.use_strict_mode': '1',
    'session.use_only_cookies': '1',
    'session.cookie_httponly': '1',
    'session.cookie_samesite': 'Lax',
    'session.gc_probability': '0',
    'display_errors': 'stderr',
    ...overrides, // e.g. session.cookie_secure=1 behind a TLS proxy
  };
  return ['-n', ...Object.entries(ini).flatMap(([k, v]) => ['-d', `${k}=${v}`]), '-S', `${host}:${port}`, '-t', docroot];
}
