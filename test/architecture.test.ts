import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layer table of docs/architecture.md, enforced: every relative import of `src/**\/*.ts` is
 * read (a small scanner: comments and template literals are blanked first, so code inside a
 * template — `strata init`'s file templates — is not taken for an import), and checked against
 * the table below; then the file graph is checked for cycles. Change the table here and in
 * docs/architecture.md together.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

type Layer = string;

/**
 * Layer → the layers it may import. `types:` means type-only imports (`import type`, or every
 * name marked `type`). The root entries are the package's composition files.
 */
const MAY_IMPORT: Record<Layer, { code: Layer[]; types?: Layer[] }> = {
  server: { code: ['gateway', 'parallel', 'observe', 'proxy'] },
  // The reverse proxy: upstream groups, balancing, health; served by the edge and the CLI.
  proxy: { code: ['gateway', 'observe'] },
  gateway: { code: [] },
  app: { code: ['observe'], types: ['gateway'] },
  parallel: { code: ['observe'] },
  realtime: { code: ['gateway', 'observe'] },
  observe: { code: [] },
  // The CLI serves through `strata-stack/server`'s composed serve() (WebSockets included).
  cli: { code: ['server', 'gateway', 'app', 'parallel', 'realtime', 'observe', 'proxy', 'server.ts'] },
  // `strata-stack`: the framework and the gateway's public contract.
  'index.ts': { code: ['app', 'gateway'] },
  // `strata-stack/config`: `defineConfig` only (src/cli/config.ts, which loads nothing itself).
  'config.ts': { code: ['cli'] },
  // `strata-stack/server`: the edge's serve() composed with realtime's WebSocket endpoint.
  'server.ts': { code: ['server', 'realtime', 'gateway'] },
  // `strata-stack/testing`: a server around an app (the composed one), and the gateway's types.
  'testing.ts': { code: ['server', 'server.ts'], types: ['gateway'] },
};

/**
 * The gateway's shared primitives, which the app layer may import as code: the edge's pure parts
 * (the HTTP primitives of http.ts — token, OWS, lists, URL → path, error status, request-id format —
 * path resolution, preconditions, ranges, MIME, negotiation, ETags), the one GCRA and its stores,
 * file bodies and the fast Response — one implementation, two doors (docs/architecture.md). They
 * import no `node:http`/`node:net` (checked below), so the framework stays portable.
 */
const SHARED_WITH_APP = [
  'src/gateway/http.ts',
  'src/gateway/http/',
  'src/gateway/rate-limit/',
  'src/gateway/file-body.ts',
  'src/gateway/fast-response.ts',
];
const isSharedWithApp = (path: string): boolean =>
  SHARED_WITH_APP.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** `text` with comments and template-literal text blanked (strings kept: they hold the specifiers). */
export function blankCommentsAndTemplates(text: string): string {
  const out = text.split('');
  // A stack of brace depths of the `${` we are inside, one per open template.
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const inTemplate = (): void => {
    // At the first character of template text: blank until `${` or the closing backtick.
    const from = i;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '`') {
        blank(from, i);
        i++;
        templates.pop();
        return;
      }
      if (c === '$' && text[i + 1] === '{') {
        blank(from, i);
        i += 2;
        depth++;
        return;
      }
      i++;
    }
    blank(from, i);
  };
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const to = end === -1 ? text.length : end;
      blank(i, to);
      i = to;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const to = end === -1 ? text.length : end + 2;
      blank(i, to);
      i = to;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < text.length && text[i] !== c && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '`') {
      i++;
      templates.push(depth);
      inTemplate();
    } else if (c === '{') {
      depth++;
      i++;
    } else if (c === '}') {
      depth--;
      i++;
      if (templates.length > 0 && depth === templates[templates.length - 1]) inTemplate();
    } else i++;
  }
  return out.join('');
}

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
  text: string;
}

const STATEMENT =
  /\b(import|export)\s+(type\s+)?([\w*{}\s,$]*?)\s*from\s*(['"])([^'"]+)\4|\bimport\s*\(\s*(['"])([^'"]+)\6\s*\)|\bimport\s+(['"])([^'"]+)\8/g;

function importsOf(file: string): Import[] {
  const text = blankCommentsAndTemplates(readFileSync(file, 'utf8'));
  const out: Import[] = [];
  for (const m of text.matchAll(STATEMENT)) {
    const spec = m[5] ?? m[7] ?? m[9]!;
    if (!spec.startsWith('.')) continue;
    const names = m[3] ?? '';
    // `import { type A, type B }`: erased like `import type`.
    const allTyped =
      /^\{[^}]*\}$/.test(names.trim()) &&
      names
        .trim()
        .slice(1, -1)
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '')
        .every((n) => n.startsWith('type '));
    out.push({
      from: relative(ROOT, file),
      to: relative(ROOT, resolve(dirname(file), spec)),
      typeOnly: m[2] !== undefined || allTyped,
      text: m[0],
    });
  }
  return out;
}

function layerOf(path: string): Layer {
  const parts = relative('src', path).split('/');
  return parts[0]!;
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);

test('the scanner reads statements, not text in comments or templates', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from './b.ts';",
    "import { type C, type D } from './c.ts';",
    "export { e } from './e.ts';",
    "// import { no } from './comment.ts';",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template
    "const t = `import { no } from './template.ts'; ${f(`x`)} more`;",
    "const m = await import('./dynamic.ts');",
    "import './side-effect.ts';",
  ].join('\n');
  const blanked = blankCommentsAndTemplates(text);
  const found = [...blanked.matchAll(STATEMENT)].map((m) => m[5] ?? m[7] ?? m[9]);
  assert.deepEqual(found, ['./a.ts', './b.ts', './c.ts', './e.ts', './dynamic.ts', './side-effect.ts']);
});

test('every relative import of src resolves to a file (the scanner saw real imports)', () => {
  assert.ok(imports.length > 200, `only ${imports.length} imports found`);
  const missing = imports.filter((i) => !existsSync(join(ROOT, i.to))).map((i) => `${i.from} → ${i.to}`);
  assert.deepEqual(missing, []);
});

/** The imports of `list` that the layer table does not allow, as `from → to: why`. */
function layerViolations(list: Import[]): string[] {
  const wrong: string[] = [];
  for (const i of list) {
    const from = layerOf(i.from);
    const to = layerOf(i.to);
    if (from === to) continue;
    const rule = MAY_IMPORT[from];
    assert.ok(rule !== undefined, `${i.from}: no layer in the table for ${from}`);
    if (rule.code.includes(to)) continue;
    if (i.typeOnly && rule.types?.includes(to)) continue;
    if (from === 'app' && isSharedWithApp(i.to)) continue;
    wrong.push(`${i.from} → ${i.to}${i.typeOnly ? ' (types)' : ''}: ${from} may not import ${to}`);
  }
  return wrong;
}

test('the layer check finds an import against the table (the check itself can fail)', () => {
  const edge = (from: string, to: string, typeOnly = false): Import => ({ from, to, typeOnly, text: '' });
  assert.deepEqual(layerViolations([edge('src/server/a.ts', 'src/gateway/b.ts')]), []);
  assert.deepEqual(layerViolations([edge('src/app/a.ts', 'src/gateway/types.ts', true)]), []);
  assert.deepEqual(layerViolations([edge('src/app/a.ts', 'src/gateway/http.ts')]), []);
  assert.equal(layerViolations([edge('src/gateway/a.ts', 'src/server/b.ts')]).length, 1);
  assert.equal(layerViolations([edge('src/server/a.ts', 'src/realtime/b.ts')]).length, 1);
  assert.equal(layerViolations([edge('src/app/a.ts', 'src/gateway/node.ts')]).length, 1);
});

test('imports follow the layer table of docs/architecture.md', () => {
  assert.deepEqual(layerViolations(imports), []);
});

test("the gateway's primitives shared with the app import no node:http, node:net or node:tls", () => {
  const shared = files.map((f) => relative(ROOT, f)).filter(isSharedWithApp);
  assert.ok(shared.length > 8, `only ${shared.length} shared files found`);
  const bad = shared.filter((f) =>
    /from 'node:(http|https|net|tls|http2)'/.test(readFileSync(join(ROOT, f), 'utf8')),
  );
  assert.deepEqual(bad, []);
});

test('the table covers every layer directory of src', () => {
  for (const name of readdirSync(SRC)) assert.ok(name in MAY_IMPORT, `src/${name} is not in the layer table`);
});

test('the docs state the same table', () => {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  for (const [layer, rule] of Object.entries(MAY_IMPORT)) {
    if (layer.endsWith('.ts')) continue;
    const row = doc.split('\n').find((line) => line.startsWith(`| \`src/${layer}\``));
    assert.ok(row !== undefined, `docs/architecture.md has no row for src/${layer}`);
    const cell = row.split('|').at(-2)!;
    for (const to of [...rule.code, ...(rule.types ?? [])])
      assert.ok(cell.includes(to), `the row of src/${layer} does not name ${to}`);
  }
});

/** Strongly connected components of more than one file (Tarjan). */
function cyclesOf(edges: Import[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const i of edges) {
    const list = graph.get(i.from) ?? [];
    list.push(i.to);
    graph.set(i.from, list);
  }
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!indexOf.has(file)) visit(file);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

test('the cycle check finds a cycle (the check itself can fail)', () => {
  const edge = (from: string, to: string, typeOnly = false): Import => ({ from, to, typeOnly, text: '' });
  const edges = [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts')];
  assert.deepEqual(cyclesOf(edges), [['a.ts', 'b.ts', 'c.ts']]);
  assert.deepEqual(cyclesOf([edge('a.ts', 'b.ts'), edge('b.ts', 'd.ts')]), []);
});

test('no cycle between files through code imports', () => {
  assert.deepEqual(cyclesOf(imports.filter((i) => !i.typeOnly)), []);
});

/**
 * Cycles through type-only imports cost nothing at run time, but they are the start of a knot:
 * the ones that exist are listed, and no new one may appear.
 */
const KNOWN_TYPE_CYCLES = [['src/app/context.ts', 'src/app/types.ts']];

test('no new cycle between files through type imports', () => {
  assert.deepEqual(cyclesOf(imports), KNOWN_TYPE_CYCLES);
});

test('no `export *` barrels', () => {
  const barrels = files
    .filter((f) => /^\s*export\s+\*/m.test(blankCommentsAndTemplates(readFileSync(f, 'utf8'))))
    .map((f) => relative(ROOT, f));
  assert.deepEqual(barrels, []);
});

/** The names a file exports through `export { … } from` and `export type { … } from` lists. */
function reexportedNames(file: string): Set<string> {
  const text = blankCommentsAndTemplates(readFileSync(join(ROOT, file), 'utf8'));
  const names = new Set<string>();
  for (const m of text.matchAll(/\bexport\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .at(-1)!;
      if (name !== '') names.add(name);
    }
  }
  return names;
}

test('`strata-stack` re-exports every name of the framework (an explicit list, not `export *`)', () => {
  const root = reexportedNames('src/index.ts');
  const missing = [...reexportedNames('src/app/index.ts')].filter((name) => !root.has(name));
  assert.deepEqual(missing, [], 'add these to src/index.ts');
});

test("the parallel entry exports the supervisor, pool and monitor, not the wiring to strata serve's workers", () => {
  const exported = reexportedNames('src/parallel/index.ts');
  const internal = [
    'supervisedWorker',
    'SupervisedWorker',
    'SupervisorMetrics',
    'METRICS_ASK',
    'RestartBackoff',
    'defaultMode',
    'kernelMigratesConnections',
  ];
  assert.deepEqual(
    internal.filter((name) => exported.has(name)),
    [],
  );
  for (const name of ['Supervisor', 'ThreadPool', 'LoopMonitor', 'workerChannel'])
    assert.ok(exported.has(name), `${name} is public`);
});

test("the gateway's public entry exports the contract and the adapter, not the adapter's internals", () => {
  const exported = reexportedNames('src/gateway/index.ts');
  const internal = [
    'writeResponse',
    'ErrorSink',
    'hasBody',
    'NodeGatewayConfig',
    'installFastResponse',
    'refuseHandshake',
    'bodyTooLarge',
    'filePathOf',
    'FastResponse',
    'FastParts',
    'NodeRequest',
    'installFastResponse',
  ];
  assert.deepEqual(
    internal.filter((name) => exported.has(name)),
    [],
  );
  for (const name of [
    'App',
    'ServeInfo',
    'createNodeHandler',
    'WebSocketAcceptor',
    'WebSocketEndpoint',
    'toNativeRequest',
  ])
    assert.ok(exported.has(name), `${name} is part of the contract`);
});
