#!/usr/bin/env node
// Thin launcher: all logic lives in the compiled library (dist/cli).
import('../dist/cli/index.js')
  .then((cli) => cli.main(process.argv))
  .catch((err) => {
    process.stderr.write(`sessctl: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 2;
  });
