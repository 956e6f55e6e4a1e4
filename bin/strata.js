#!/usr/bin/env node
// A checkout of the repository runs the TypeScript source (Node >= 24 strips the types); the
// published package, which ships only dist/, runs the built CLI.
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`strata needs Node.js 24 or newer; this is ${process.version}\n`);
  process.exit(1);
}
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/main.js', import.meta.url).href);
