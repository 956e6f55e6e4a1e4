/**
 * The docs hold: every fenced ```ts block of README.md and docs/*.md type-checks against the
 * sources, as a user would paste it. Each block is written as a module into a folder of the repo
 * that git ignores (`.doc-blocks/`, outside tsconfig's `include`), next to a generated tsconfig
 * whose `paths` send `strata-stack` and `strata-stack/*` to src/ (no build needed) and whose other
 * settings are the repo's own; one `tsc` run checks them all.
 *
 * Fragments name things they do not define (`app`, `db`, `requireAdmin`, …): those are declared
 * once, with their types, in test/fixtures/docs/placeholders.ts.txt. An import in a block shadows a
 * placeholder, so a block that builds its own `app` is checked against what it built.
 *
 * A block that cannot be a module on purpose opts out with its info string: ```ts nocheck.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PLACEHOLDERS = join(ROOT, 'test', 'fixtures', 'docs', 'placeholders.ts.txt');

/** The package's entries, as package.json `exports` names them, and the sources behind them. */
const ENTRIES: Record<string, string> = {
  'strata-stack': 'src/index.ts',
  'strata-stack/server': 'src/server.ts',
  'strata-stack/gateway': 'src/gateway/index.ts',
  'strata-stack/parallel': 'src/parallel/index.ts',
  'strata-stack/observe': 'src/observe/index.ts',
  'strata-stack/realtime': 'src/realtime/index.ts',
  'strata-stack/proxy': 'src/proxy/index.ts',
  'strata-stack/bun': 'src/gateway/bun.ts',
  'strata-stack/deno': 'src/gateway/deno.ts',
  'strata-stack/config': 'src/config.ts',
  'strata-stack/testing': 'src/testing.ts',
};

interface Block {
  /** The doc, relative to the repo: `docs/app.md`. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  nocheck: boolean;
}

/** Every ```ts (or ```typescript) block of a markdown text, with the line of its fence. */
function extractBlocks(doc: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, fence, lang, info] = open as unknown as [string, string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim().startsWith(fence) && line.trim().replace(/[`~]/g, '') === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    if (lang === 'ts' || lang === 'typescript') {
      blocks.push({ doc, line: i + 1, code: body.join('\n'), nocheck: /\bnocheck\b/.test(info) });
    }
    i = j;
  }
  return blocks;
}

function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** A block's module name: `docs-app.md-L7.ts`. */
function moduleName(block: Block): string {
  return `${block.doc.replaceAll('/', '-')}-L${block.line}.ts`;
}

interface Diagnostic {
  /** `docs/app.md:23 (block at line 7)`, or the generated file when it is not a block. */
  where: string;
  doc: string | undefined;
  /** Line in the doc (the fence's line + the line in the block). */
  docLine: number | undefined;
  message: string;
}

/**
 * Type-checks the blocks in one tsc run and maps each diagnostic back to its doc and line.
 * `extra` blocks (the canary) are checked in the same run.
 */
async function checkBlocks(blocks: Block[]): Promise<{ diagnostics: Diagnostic[]; output: string }> {
  const base = join(ROOT, '.doc-blocks');
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'run-'));
  try {
    const byFile = new Map<string, Block>();
    await mkdir(join(dir, 'blocks'));
    for (const block of blocks) {
      const name = moduleName(block);
      byFile.set(`blocks/${name}`, block);
      // `export {}` makes every block a module: its top-level names are its own, not globals
      // shared with (and clashing with) the other blocks.
      await writeFile(join(dir, 'blocks', name), `${block.code}\nexport {};\n`);
    }
    // What `import app from './app.ts'` (a test next to its app) finds: the placeholder `app`.
    await writeFile(join(dir, 'blocks', 'app.ts'), 'export default app;\n');
    await copyFile(PLACEHOLDERS, join(dir, 'placeholders.ts'));

    const repo = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: Record<string, unknown>;
    };
    const paths: Record<string, string[]> = {};
    for (const [name, source] of Object.entries(ENTRIES)) {
      paths[name] = [relative(dir, join(ROOT, source))];
    }
    const tsconfig = {
      compilerOptions: { ...repo.compilerOptions, noEmit: true, paths },
      include: ['placeholders.ts', 'blocks/*.ts'],
    };
    await writeFile(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);

    let output = '';
    try {
      await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
        cwd: dir,
        timeout: 60_000,
      });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
      if (output.trim() === '') throw err;
    }

    const diagnostics: Diagnostic[] = [];
    // `blocks/docs-app.md-L7.ts(17,9): error TS2339: …`, continuation lines indented.
    for (const entry of output.split(/\n(?=\S)/)) {
      if (entry.trim() === '') continue;
      const m = /^(.+?)\((\d+),(\d+)\): (.*)$/s.exec(entry.trim());
      const file = m?.[1]?.replaceAll('\\', '/');
      const block = file === undefined ? undefined : byFile.get(file);
      if (m === null || block === undefined) {
        diagnostics.push({
          where: m?.[1] ?? '(tsc)',
          doc: undefined,
          docLine: undefined,
          message: entry.trim(),
        });
        continue;
      }
      const docLine = block.line + Number(m[2]);
      diagnostics.push({
        where: `${block.doc}:${docLine} (the block at line ${block.line}, column ${m[3]})`,
        doc: block.doc,
        docLine,
        message: m[4]!,
      });
    }
    return { diagnostics, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Blocks that must fail, checked in the same run: proof that a slip in a doc is caught and placed. */
const CANARY: Block[] = [
  {
    doc: 'canary.md',
    line: 10,
    // line 11: a method App does not have; line 12: an option serve() does not take.
    code: "app.gett('/x', (c) => c.text('ok'));\nawait serve(app, { prot: 3000 });",
    nocheck: false,
  },
  { doc: 'canary.md', line: 20, code: "import { Ap } from 'strata-stack';\nnew Ap();", nocheck: false },
];

test('every ```ts block of README.md and docs/*.md type-checks against the sources', {
  timeout: 120_000,
}, async () => {
  const blocks = docFiles().flatMap((doc) => extractBlocks(doc, readFileSync(join(ROOT, doc), 'utf8')));
  assert.ok(blocks.length >= 30, `the scan found the blocks (${blocks.length})`);
  const checked = blocks.filter((b) => !b.nocheck);
  const { diagnostics, output } = await checkBlocks([...checked, ...CANARY]);

  const canary = diagnostics.filter((d) => d.doc === 'canary.md');
  assert.deepEqual(
    [...new Set(canary.map((d) => d.docLine))],
    [11, 12, 21],
    `the check catches a wrong method, a wrong option and a wrong import, on their lines:\n${output}`,
  );
  const found = diagnostics.filter((d) => d.doc !== 'canary.md');
  assert.equal(
    found.length,
    0,
    `${found.length} type error(s) in the docs' code blocks (fix the doc, the API, or a placeholder in test/fixtures/docs/placeholders.ts.txt):\n${found.map((d) => `  ${d.where}: ${d.message}`).join('\n')}`,
  );
});

test('the block extractor finds fences, their lines, and the nocheck opt-out', () => {
  const text = [
    '# t',
    '```ts',
    'a;',
    '```',
    '',
    '```sh',
    'x',
    '```',
    '  ```ts nocheck',
    '  b;',
    '  ```',
  ].join('\n');
  assert.deepEqual(extractBlocks('t.md', text), [
    { doc: 't.md', line: 2, code: 'a;', nocheck: false },
    { doc: 't.md', line: 9, code: 'b;', nocheck: true },
  ]);
});

test('relative links of README.md and docs/*.md point at files that exist', () => {
  const broken: string[] = [];
  for (const doc of docFiles()) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    // Links outside code: drop fenced blocks and inline code first.
    const prose = text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      const path = decodeURIComponent(target.split('#')[0]!);
      const file = join(ROOT, dirname(doc), path);
      if (!existsSync(file)) broken.push(`${doc}: ${target}`);
    }
  }
  assert.deepEqual(broken, [], 'links to files that do not exist');
});
