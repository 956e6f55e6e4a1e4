/**
 * A module that does not load is reported like a compiler would: file:line:column, the source
 * line with a caret under the spot, and a hint for the usual slips. In-process (loadServable),
 * one case per row; hostile sources (a huge line, control characters) cannot flood or drive the
 * terminal.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CliError } from '../../src/cli/errors.ts';
import { codeFrame } from '../../src/cli/module-errors.ts';
import { trackModules } from '../../src/cli/module-graph.ts';
import { loadServable } from '../../src/cli/serve-command.ts';
import { runCli } from '../fixtures/cli.ts';

const root = mkdtempSync(join(tmpdir(), 'strata-load-'));
after(() => rmSync(root, { recursive: true, force: true }));
trackModules(root);

interface Case {
  name: string;
  files: Record<string, string>;
  code: string;
  /** Every pattern must match the message. */
  expect: RegExp[];
}

const cases: Case[] = [
  {
    name: 'a syntax error in a .ts file (type stripping)',
    files: { 'app.ts': 'const a = 1;\nconst b: number = 2 +;\nexport default a;\n' },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/app\.ts:2:22\n 2 \| const b: number = 2 \+;\n {3}\| {22}\^$/m, /ERR_INVALID_TYPESCRIPT_SYNTAX/],
  },
  {
    name: 'a syntax error in an imported .mjs file (import() names no place)',
    files: {
      'app.ts': "import './lib.mjs';\nexport default 1;\n",
      'lib.mjs': 'export const x = 1;\nconst y = 2 +;\n',
    },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/lib\.mjs:2:14\n 2 \| const y = 2 \+;\n {3}\| {14}\^/],
  },
  {
    name: 'an import without .ts',
    files: { 'app.ts': "import x from './other';\nexport default x;\n", 'other.ts': 'export default 1;\n' },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [
      /app\.ts:1:15\n 1 \| import x from '\.\/other';\n {3}\| {15}\^{9}/,
      /hint: .*other\.ts exists.*'other\.ts'/,
    ],
  },
  {
    name: 'a .js import of a .ts file',
    files: {
      'app.ts': "import x from './other.js';\nexport default x;\n",
      'other.ts': 'export default 1;\n',
    },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/hint: .*other\.ts exists.*write 'other\.ts'/],
  },
  {
    name: 'an enum',
    files: { 'app.ts': 'enum Color { Red }\nexport default Color;\n' },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [
      /app\.ts:1:1\n/,
      /ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX/,
      /hint: an enum is not erasable/,
      /erasableSyntaxOnly/,
    ],
  },
  {
    name: 'a namespace',
    files: { 'app.ts': 'namespace N { export const a = 1; }\nexport default N;\n' },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/hint: a namespace is not erasable/],
  },
  {
    name: 'a parameter property',
    files: { 'app.ts': 'class A { constructor(private x: number) {} }\nexport default A;\n' },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/app\.ts:1:31\n/, /hint: a parameter property/],
  },
  {
    name: "importing 'strata' for 'strata-stack'",
    files: { 'app.ts': "import { App } from 'strata';\nexport default new App();\n" },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/app\.ts:1:21\n/, /hint: the package is strata-stack: import from 'strata-stack'/],
  },
  {
    name: 'no default export',
    files: { 'app.ts': 'export const app = { fetch: () => new Response("x") };\n' },
    code: 'STRATA_ERR_BAD_APP',
    expect: [/has no default export \(it exports `app`\).*export default app/],
  },
  {
    name: 'a throw at load time',
    files: { 'app.ts': "const n = 1;\nif (n) throw new Error('no database');\nexport default {};\n" },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/no database\n.*app\.ts:2:14\n 2 \| if \(n\) throw new Error/],
  },
  {
    name: 'hostile: control characters in the source line are escaped',
    files: { 'app.ts': 'const s = "\u001b]0;owned\u0007" +;\nexport default s;\n' },
    code: 'STRATA_ERR_MODULE_LOAD',
    expect: [/\\x1b\]0;owned\\x07/],
  },
];

describe('module-load errors', () => {
  let n = 0;
  for (const c of cases) {
    test(c.name, async () => {
      const dir = join(root, `case${n++}`);
      for (const [name, text] of Object.entries(c.files)) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      await assert.rejects(loadServable('app.ts', dir), (err: CliError) => {
        assert.ok(err instanceof CliError);
        assert.equal(err.code, c.code);
        for (const pattern of c.expect) assert.match(err.message, pattern);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
        assert.doesNotMatch(err.message, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
        return true;
      });
    });
  }

  test('hostile: a 1 MB line shows a window around the spot, not the whole line', () => {
    const file = join(root, 'minified.js');
    writeFileSync(file, `${'a'.repeat(500_000)}+${'b'.repeat(500_000)}\n`);
    const frame = codeFrame({ file, line: 1, column: 500_001, width: 1 });
    assert.ok(frame.length < 600, `${frame.length} characters`);
    const [, source, caret] = frame.split('\n') as [string, string, string];
    assert.equal(caret.indexOf('^'), source.indexOf('+'));
  });

  test('a place past the end of the file, or in no file, prints the place alone', () => {
    assert.equal(
      codeFrame({ file: join(root, 'nope.ts'), line: 3, column: 1, width: 1 }),
      `${join(root, 'nope.ts')}:3:1`,
    );
  });

  test('the whole report on stderr: the code on the first line, then the frame and the hint', async () => {
    const dir = join(root, 'cli');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.ts'), "import x from './other';\nexport default x;\n");
    writeFileSync(join(dir, 'other.ts'), 'export default 1;\n');
    const result = await runCli(['serve', join(dir, 'app.ts')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^strata: Could not load .*app\.ts \[STRATA_ERR_MODULE_LOAD\]\n/);
    assert.match(result.stderr, /\n {3}\| {15}\^{9}\nhint: /);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});
