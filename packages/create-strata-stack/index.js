#!/usr/bin/env node
// `npm create strata-stack [dir] [-- --name N --from SPEC]`: npm installs this package and runs
// this bin, which is `strata init` from the strata-stack package it depends on. Plain JavaScript
// that also runs on a Node older than 24: the app it writes pins Node 24 for its npm scripts.
import { runInit } from 'strata-stack/init';

try {
  await runInit(process.argv.slice(2));
} catch (err) {
  if (typeof err?.code !== 'string' || !err.code.startsWith('STRATA_ERR_')) throw err;
  process.stderr.write(`create-strata-stack: ${err.message} [${err.code}]\n`);
  process.exitCode = err.exitCode ?? 1;
}
