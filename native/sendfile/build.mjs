// Builds the optional sendfile(2) addon at `npm install` / `npm ci` time. It never fails the
// install: without a compiler (or off Linux) strata streams large files instead, which works
// everywhere and costs more CPU. Plain JavaScript, because it also runs where strata is a
// dependency, and node does not strip types under node_modules.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const say = (message) => process.stderr.write(`strata: ${message}\n`);

if (process.platform !== 'linux') {
  say(`sendfile addon skipped on ${process.platform}: large static files are streamed`);
  process.exit(0);
}
if (process.env.STRATA_SKIP_NATIVE === '1') {
  say('sendfile addon skipped (STRATA_SKIP_NATIVE=1): large static files are streamed');
  process.exit(0);
}

// npm names its bundled node-gyp in npm_config_node_gyp; otherwise try one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [command, args] =
  gyp !== undefined && existsSync(gyp)
    ? [process.execPath, [gyp, 'rebuild', '--directory', dir]]
    : ['node-gyp', ['rebuild', '--directory', dir]];
const result = spawnSync(command, args, { encoding: 'utf8', timeout: 180_000 });
if (result.status === 0 && existsSync(join(dir, 'build', 'Release', 'sendfile.node'))) {
  say('sendfile addon built: large static files go out with sendfile(2)');
} else {
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  say(
    `sendfile addon not built (${result.error?.message ?? `exit ${result.status}`}): large static files are streamed instead.\n${output}`,
  );
}
process.exit(0);
