/**
 * The root entry's types stand without @types/node: a project with `types: []` and the DOM lib
 * type-checks an app against the declarations tsc emits for src/. The declarations are emitted
 * into a temporary folder outside the repo, so nothing can resolve `node:*` or find @types/node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

async function tsc(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TSC, ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('an app importing the root entry type-checks with types: [] and no @types/node', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-no-node-'));
  try {
    // The declarations, laid out as src/ is, so the app's '../../../src/index.ts' finds index.d.ts.
    const emit = await tsc([
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--noEmit',
      'false',
      '--emitDeclarationOnly',
      '--declarationMap',
      'false',
      '--outDir',
      join(dir, 'src'),
    ]);
    assert.equal(emit.code, 0, emit.output);
    const project = join(dir, 'test', 'types', 'no-node');
    await cp(join(ROOT, 'test', 'types', 'no-node'), project, { recursive: true });
    await writeFile(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
    // The package's own dependencies, as a user's install has them (jose's types, say) — but no
    // @types/* package, which would bring @types/node in.
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies).filter((n) => !n.startsWith('@types/'))) {
      const link = join(dir, 'node_modules', name);
      await mkdir(join(link, '..'), { recursive: true });
      await symlink(join(ROOT, 'node_modules', name), link, 'dir');
    }
    // Proof that node's types are really absent here: this line must be an error.
    await writeFile(
      join(project, 'guard.ts'),
      "// @ts-expect-error -- no @types/node in this project\nexport const b = Buffer.from('x');\n",
    );
    const check = await tsc(['-p', join(project, 'tsconfig.json')]);
    assert.equal(check.code, 0, `the root entry's types need something this project lacks:\n${check.output}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
