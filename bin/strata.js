#!/usr/bin/env node
// The published package runs the built CLI; a checkout of the repo runs the TypeScript source
// (Node >= 24 strips the types).
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`strata needs Node.js 24 or newer; this is ${process.version}\n`);
  process.exit(1);
}
const built = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
