/**
 * parallel: what the supervisor costs, and what a rolling reload does to traffic.
 *
 * 1. Supervisor overhead (issue 5, floor ≤ 1.05×): CPU per request of the whole process tree for
 *    `strata serve --workers 1` against plain `strata serve`, in reusePort and in cluster mode,
 *    each its own interleaved scenario.
 * 2. Rolling reload under load: see bench/parallel-reload.ts (run after the two scenarios).
 */
import { join } from 'node:path';
import { runScenario, type Scenario, type Target } from './lib/harness.ts';
import { runReloadBench } from './parallel-reload.ts';

const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const app = join(import.meta.dirname, 'servers', 'hello-app.ts');

function strata(name: string, extra: string[]): Target {
  return { name, command: process.execPath, args: [cli, 'serve', app, ...extra] };
}

const plain = strata('serve', []);

const overhead: Scenario[] = (['reusePort', 'cluster'] as const).map((mode) => ({
  name: `parallel-overhead-${mode}`,
  description: `strata serve --workers 1 --worker-mode ${mode} vs plain strata serve (hello app; CPU of the process tree)`,
  path: '/',
  baseline: 'serve',
  subject: `workers-1-${mode}`,
  targets: [plain, strata(`workers-1-${mode}`, ['--workers', '1', '--worker-mode', mode])],
  floors: [{ vs: 'serve', max: 1.05 }],
}));

const argv = process.argv.slice(3);
const reloadOnly = argv.includes('--reload-only');
const rest = argv.filter((a) => a !== '--reload-only');
if (!reloadOnly) {
  for (const scenario of overhead) {
    await runScenario(
      scenario,
      rest.filter((a) => !a.startsWith('--reloads')),
    );
    console.log();
  }
}
await runReloadBench(rest);
