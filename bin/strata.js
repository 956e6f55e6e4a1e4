#!/usr/bin/env node
// The `strata` command. One copy of strata per process: an app that imports 'strata-stack' gets
// the files the package's `exports` name (dist/), so the CLI is loaded through the same `exports`
// (a self-reference, 'strata-stack/cli'), whichever way the package was installed: from the
// registry, a tarball, a git URL, or a path (a symlink to a checkout, where src/ sits beside
// dist/). Loading src/ there would give the process two App classes and two sets of registries.
//
// Only a checkout run by its own path (`node bin/strata.js ...`, not through node_modules/.bin
// or another link) runs the TypeScript source, as `npm start` does: the repository's examples
// import src/ by relative path. Plain JavaScript: node does not strip types under node_modules.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`strata needs Node.js 24 or newer; this is ${process.version}\n`);
  process.exit(1);
}

const self = fileURLToPath(import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
const checkout = process.argv[1] === self && !/[\\/]node_modules[\\/]/.test(self) && existsSync(source);
if (checkout) {
  await import(source.href);
} else if (existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
  await import('strata-stack/cli');
} else {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`strata: ${root} is not built (no dist/): run \`npm run build\` there\n`);
  process.exit(1);
}
