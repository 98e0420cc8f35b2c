// Preloaded with `node --require` by test/store-lock.test.js: makes both flock addons
// unresolvable, as on a machine where neither got installed.
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'fs-ext-extra-prebuilt' || request === 'fs-ext') {
    const err = new Error(`Cannot find module '${request}'`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
