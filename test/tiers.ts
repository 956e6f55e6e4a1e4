/**
 * The test tiers (README, "Testing"): `npm run test:slow` runs the files that start other
 * processes — a supervisor and its workers, node:cluster, the CLI, Chromium, `npm pack` — and
 * `npm run test:node` runs every other test file. `npm test` runs both, after lint and the type
 * check, so CI runs everything. test/tiers.test.ts fails when a file that starts such processes
 * is not listed here, or when a listed file is gone.
 *
 *   node test/tiers.ts node|slow [extra node --test flags]
 */
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** The slow tier: test files that start other processes (paths from the repository's root). */
export const SLOW_TESTS: readonly string[] = [
  // The CLI, spawned (and the supervisor it starts).
  'test/cli/config.test.ts',
  'test/cli/init.test.ts',
  'test/cli/load-errors.test.ts',
  'test/cli/manners.test.ts',
  'test/cli/serve-acme.test.ts',
  'test/cli/serve-flags.test.ts',
  'test/cli/serve.test.ts',
  'test/cli/watch.test.ts',
  'test/proxy/cli.test.ts',
  'test/examples/showcase-db.test.ts',
  'test/realtime/redis-broker.test.ts',
  'test/security/promises.test.ts',
  'test/security/route-errors.test.ts',
  'test/server/access-log.test.ts',
  // Supervisors, workers, node:cluster.
  'test/parallel/cluster.test.ts',
  'test/parallel/ipc.test.ts',
  'test/parallel/lifecycle.test.ts',
  'test/parallel/rate-limit-cluster.test.ts',
  'test/parallel/reload.test.ts',
  'test/parallel/restart.test.ts',
  'test/parallel/units.test.ts',
  'test/realtime/cluster-broker.test.ts',
  'test/server/frameworks/workers.test.ts',
  'test/server/tls/workers.test.ts',
  // Upstreams in child processes, killed and stopped.
  'test/proxy/fault.test.ts',
  // Chromium.
  'test/examples/showcase-browser.test.ts',
  'test/examples/showcase-chat.test.ts',
  'test/server/dashboard-browser.test.ts',
  // npm pack and install.
  'test/package/pack.test.ts',
];

/** Every test file of the repository, sorted (paths from the root). */
export function allTests(): string[] {
  return globSync('test/**/*.test.ts', { cwd: ROOT })
    .map((path) => relative('.', path))
    .sort();
}

/** The files of a tier. */
export function tierFiles(tier: 'node' | 'slow'): string[] {
  const slow = new Set(SLOW_TESTS);
  return allTests().filter((path) => slow.has(path) === (tier === 'slow'));
}

if (import.meta.main) {
  const [tier, ...flags] = process.argv.slice(2);
  if (tier !== 'node' && tier !== 'slow') {
    process.stderr.write('usage: node test/tiers.ts node|slow [node --test flags]\n');
    process.exit(2);
  }
  // A test that hangs fails after three minutes instead of holding CI to its own limit.
  const args = ['--test', '--test-concurrency=2', '--test-timeout=180000', ...flags, ...tierFiles(tier)];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
}
