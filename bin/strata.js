#!/usr/bin/env node
// The `strata` command. One copy of strata per process: an app that imports 'strata-stack' gets
// the files the package's `exports` name (dist/), so the CLI is loaded through the same `exports`
// (a self-reference, 'strata-stack/cli'), whichever way the package was installed: from the
// registry, a tarball, a git URL, or a path (a link to a checkout, where src/ sits beside dist/).
// Loading src/ there would give the process two App classes and two sets of registries.
//
// The one exception is the checkout's own project: run from inside it (the nearest package.json
// above the working directory is this package's), the CLI runs the TypeScript source, as
// `npm start` does, because the repository's examples import src/ by relative path.
// Plain JavaScript: node does not strip types under node_modules.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`strata needs Node.js 24 or newer; this is ${process.version}\n`);
  process.exit(1);
}

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');
const source = join(root, 'src', 'cli', 'main.ts');

/** The directory of the nearest package.json at or above `dir`. */
function projectOf(dir) {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at;
    if (dirname(at) === at) return undefined;
  }
}

function inOwnCheckout() {
  if (/[\\/]node_modules[\\/]/.test(root) || !existsSync(source)) return false;
  try {
    const project = projectOf(process.cwd());
    return project !== undefined && realpathSync(project) === realpathSync(root);
  } catch {
    return false;
  }
}

if (inOwnCheckout()) {
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
} else if (existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  await import('strata-stack/cli');
} else {
  process.stderr.write(`strata: ${root} is not built (no dist/): run \`npm run build\` there\n`);
  process.exit(1);
}
