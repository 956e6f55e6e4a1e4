/**
 * `npm run conformance:matrix`: runs the conformance suite on every runtime (the four
 * test/conformance/*.test.ts files), collects each one's results and writes the feature × runtime
 * table between the markers of docs/portability.md. The suite's own check (each runtime's
 * column against the committed table) fails until the table is rewritten: this is how.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CaseId,
  type Outcome,
  RUNTIMES,
  type RuntimeId,
  renderMatrix,
  replaceMatrix,
} from './matrix.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'strata-conformance-'));
try {
  const files = (Object.keys(RUNTIMES) as RuntimeId[]).map((r) => `test/conformance/${r}.test.ts`);
  const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
    cwd: ROOT,
    env: { ...process.env, STRATA_CONFORMANCE_RESULTS: dir },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const results: Partial<Record<RuntimeId, Partial<Record<CaseId, Outcome>>>> = {};
  for (const r of Object.keys(RUNTIMES) as RuntimeId[]) {
    const file = join(dir, `${r}.json`);
    if (existsSync(file)) results[r] = JSON.parse(readFileSync(file, 'utf8'));
    else console.warn(`no results from ${RUNTIMES[r]} (missing runtime, or its server did not start)`);
  }
  const doc = join(ROOT, 'docs', 'portability.md');
  writeFileSync(doc, replaceMatrix(readFileSync(doc, 'utf8'), renderMatrix(results)));
  // The repo's formatter aligns markdown tables: leave the page as `biome check` wants it.
  spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'), 'format', '--write', doc],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  console.log(`wrote the matrix into docs/portability.md (suite exit code ${run.status})`);
  for (const [r, cases] of Object.entries(results)) {
    const failed = Object.entries(cases).filter(([, o]) => o === 'fail');
    if (failed.length > 0) console.log(`${r}: failing ${failed.map(([id]) => id).join(', ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
