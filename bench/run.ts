/**
 * `npm run bench -- <name> [flags]`: runs bench/<name>.ts. A scenario module exports `scenario`
 * or `scenarios` (load scenarios run by the harness, in order), or runs itself when imported.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScenario, type Scenario } from './lib/harness.ts';

const here = import.meta.dirname;
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || !available.includes(name)) {
  if (name !== undefined) console.error(`No benchmark named "${name}".`);
  console.log(`Usage: npm run bench -- <name> [--rounds N] [--requests N] [--connections N] [--only a,b]\n`);
  console.log(`Available: ${available.join(', ')}`);
  process.exit(name === undefined ? 0 : 2);
}
const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as {
  scenario?: Scenario;
  scenarios?: Scenario[];
};
for (const scenario of mod.scenarios ?? (mod.scenario === undefined ? [] : [mod.scenario])) {
  await runScenario(scenario, rest);
  console.log();
}
