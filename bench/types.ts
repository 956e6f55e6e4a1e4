/**
 * types: how long `tsc` takes to type-check a typed app of the 203 GitHub API routes (params
 * inferred from every path, a zod-validated query or body on each, c.set variables), the
 * figure Hono's users complain about (issue #3869). Floor (issue 3): under 5 s.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GITHUB_ROUTES } from './fixtures/github-routes.ts';

const root = join(import.meta.dirname, '..');
const dir = join(root, 'bench', 'results', 'types-app');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const lines = [
  "import { z } from 'zod';",
  "import { App, validate } from '../../../src/app/index.ts';",
  '',
  'const app = new App<{ user: { id: number; login: string } }>();',
  'const Page = z.object({ page: z.coerce.number().int().positive().optional(), per_page: z.coerce.number().optional() });',
  'const Body = z.object({ title: z.string(), body: z.string().optional(), labels: z.array(z.string()).optional() });',
  '',
];
GITHUB_ROUTES.forEach(([method, path], i) => {
  const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const uses = names.map((n) => `p_${n}: c.params.${n}`).join(', ');
  const fn = method.toLowerCase();
  const schema = method === 'GET' ? 'query: Page' : 'body: Body';
  const read = method === 'GET' ? 'c.valid.query.page' : 'c.body.title';
  lines.push(
    `app.${fn}('${path}', validate({ ${schema} }), (c) => c.json({ route: ${i}, ${uses}${uses ? ', ' : ''}input: ${read}, user: c.get('user').login }));`,
  );
});
lines.push('', 'export default app;', '');
writeFileSync(join(dir, 'app.ts'), lines.join('\n'));
writeFileSync(
  join(dir, 'tsconfig.json'),
  JSON.stringify(
    { extends: '../../../tsconfig.json', include: ['app.ts'], compilerOptions: { noEmit: true } },
    null,
    2,
  ),
);

/** Median wall time of three `tsc -p` runs, and the diagnostics of a fourth. */
function measure(tsc: string[]): { seconds: number; diagnostics: string; version: string } {
  const [command, ...pre] = tsc as [string, ...string[]];
  const args = [...pre, '-p', join(dir, 'tsconfig.json'), '--extendedDiagnostics'];
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    execFileSync(command, args, { encoding: 'utf8' });
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return {
    seconds: times[1]! / 1000,
    diagnostics: execFileSync(command, args, { encoding: 'utf8' }),
    version: execFileSync(command, [...pre, '--version'], { encoding: 'utf8' }).trim(),
  };
}

console.log(`# types: ${GITHUB_ROUTES.length} typed routes (params, validated input, variables)`);
// The repo's compiler (TypeScript 7, native), and optionally another one users may still run:
// TSC=/path/to/typescript/bin/tsc npm run bench -- types (e.g. a TypeScript 5.9 installed aside).
const compilers: [string, string[]][] = [
  ['repo tsc', [process.execPath, join(root, 'node_modules', 'typescript', 'bin', 'tsc')]],
];
if (process.env.TSC !== undefined) compilers.push(['TSC', [process.execPath, process.env.TSC]]);
let worst = 0;
for (const [name, command] of compilers) {
  const { seconds, diagnostics, version } = measure(command);
  worst = Math.max(worst, seconds);
  const keep = diagnostics
    .split('\n')
    .filter((l) => /^(Types|Instantiations|Memory used|Check time|Total time)/.test(l));
  console.log(
    `\n${name}: ${version}\n${keep.join('\n')}\nwall time of tsc -p, median of 3: ${seconds.toFixed(2)} s`,
  );
}
console.log(
  `\nfloor: under 5 s with every compiler: ${worst < 5 ? 'MET' : 'NOT MET'} (slowest ${worst.toFixed(2)} s)`,
);
if (worst >= 5) process.exitCode = 1;
