/**
 * `strata init [dir]`: writes a new app that works at once (`npm install && npm start`,
 * `npm test`). Also what `npm create strata-stack` runs (packages/create-strata-stack/), through
 * the package's `strata-stack/init` export.
 *
 * The project pins Node 24 the way this repository does (the `node` devDependency: npm scripts
 * run on it even where the machine's Node is older) and is TypeScript run by type stripping, so
 * its tsconfig only checks (`noEmit`) and allows only erasable syntax.
 *
 * How it is served lives in `strata.config.ts` (the app, the port, the static directory, limits
 * to uncomment), so the scripts are bare: `strata serve`, `strata serve --watch --dev`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { usageError } from './errors.ts';
import { optionTable } from './usage.ts';

export const INIT_USAGE = `Usage: strata init [dir] [options]

Writes a new strata app into <dir> (default: the current directory), which must be empty or
not exist yet: package.json, tsconfig.json, strata.config.ts, app.ts, app.test.ts,
public/index.html, README.md, .gitignore. Then: cd <dir> && npm install && npm start.

Options:
${optionTable([
  {
    flag: 'from <spec>',
    help: 'where the app gets strata-stack: any npm install spec, such as a version\nrange, a tarball or a git URL (default: ^<this version>)',
  },
  { flag: 'name <name>', help: "the package name (default: the directory's name)" },
  { short: 'h', flag: 'help', help: 'show this help' },
])}`;

/** What `strata init` needs to know; the files follow from it. */
export interface InitOptions {
  /** Directory to write into: created if missing, refused if not empty. */
  dir: string;
  /** The package.json name. */
  name: string;
  /** The `strata-stack` dependency spec. */
  from: string;
}

interface OwnManifest {
  version: string;
  devDependencies?: Record<string, string>;
}

/** This package's package.json: src/cli/ and dist/cli/ both sit two levels below the root. */
function ownManifest(): OwnManifest {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as OwnManifest;
}

/** A directory name made into a valid npm package name (lowercase, URL-safe, no leading dot). */
export function packageName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._~-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 214);
  return name === '' || name === 'node_modules' ? 'strata-app' : name;
}

export function parseInitFlags(args: string[], cwd: string): InitOptions | 'help' {
  let parsed: ReturnType<typeof parseInitArgs>;
  try {
    parsed = parseInitArgs(args);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (parsed.values.help) return 'help';
  if (parsed.positionals.length > 1)
    throw usageError(
      `strata init takes one directory, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
    );
  const dir = resolve(cwd, parsed.positionals[0] ?? '.');
  const name = parsed.values.name ?? packageName(dir);
  if (!/^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/.test(name) || name.length > 214)
    throw usageError(`--name must be a valid npm package name (lowercase, no spaces), got "${name}"`);
  const from = parsed.values.from ?? `^${ownManifest().version}`;
  if (from === '') throw usageError('--from needs an npm install spec');
  return { dir, name, from: localSpec(from, cwd) ?? from };
}

/**
 * A tarball or directory named by a path (`../strata-stack-0.1.0.tgz`, `./strata`) as a `file:`
 * spec with an absolute path: npm would read a relative path from the app's directory, not from
 * where `strata init` ran. Anything else (a range, `file:...`, a git or https URL) is kept.
 */
function localSpec(from: string, cwd: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(from) && !/^[a-z]:[\\/]/i.test(from)) return undefined;
  if (!/^(?:\.{1,2}[\\/]|[\\/]|[a-z]:[\\/])|\.(?:tgz|tar\.gz)$/i.test(from)) return undefined;
  return `file:${resolve(cwd, from)}`;
}

function parseInitArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      from: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** The files of a new app, path → content. */
export function initFiles(options: Pick<InitOptions, 'name' | 'from'>): Record<string, string> {
  const dev = ownManifest().devDependencies ?? {};
  const manifest = {
    name: options.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: '>=24' },
    scripts: {
      start: 'strata serve',
      dev: 'strata serve --watch --dev',
      test: 'node --test',
      typecheck: 'tsc',
    },
    dependencies: { 'strata-stack': options.from },
    devDependencies: {
      '@types/node': dev['@types/node'] ?? '^24.0.0',
      node: '24.x',
      typescript: dev.typescript ?? '^7.0.0',
    },
    // npm's install-script policy: the Node 24 download and strata's optional sendfile addon.
    allowScripts: { node: true, 'strata-stack': true },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'es2024',
      module: 'nodenext',
      lib: ['es2024', 'dom', 'dom.iterable'],
      types: ['node'],
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      skipLibCheck: true,
    },
    exclude: ['node_modules'],
  };
  return {
    'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    'strata.config.ts': CONFIG,
    'app.ts': APP,
    'app.test.ts': APP_TEST,
    'public/index.html': INDEX_HTML.replaceAll('{{name}}', options.name),
    'README.md': README.replaceAll('{{name}}', options.name),
    '.gitignore': 'node_modules/\n*.log\n.DS_Store\n',
  };
}

/** Writes the app; refuses a directory that has anything in it but `.git`. */
export function writeApp(options: InitOptions): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(options.dir).filter((e) => e !== '.git');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw usageError(`${options.dir} is a file, not a directory`);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (entries.length > 0) {
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? ', ...' : '');
    throw usageError(
      `${options.dir} is not empty (${shown}): strata init writes only into an empty or new directory`,
    );
  }
  const files = initFiles(options);
  mkdirSync(join(options.dir, 'public'), { recursive: true });
  // 'wx': never overwrite, even a file that appeared since the check above.
  for (const [path, content] of Object.entries(files))
    writeFileSync(join(options.dir, path), content, { flag: 'wx' });
  return Object.keys(files);
}

export async function runInit(args: string[], cwd = process.cwd()): Promise<void> {
  const options = parseInitFlags(args, cwd);
  if (options === 'help') {
    process.stdout.write(INIT_USAGE);
    return;
  }
  const written = writeApp(options);
  const where = relative(cwd, options.dir);
  const cd = where === '' ? '' : `  cd ${/[^\w./-]/.test(where) ? JSON.stringify(where) : where}\n`;
  process.stdout.write(
    `Wrote ${options.name} (${written.join(', ')}) in ${options.dir}\n\nNext:\n${cd}  npm install\n  npm start    # http://127.0.0.1:3000 (strata.config.ts says how)\n  npm run dev  # restarts on a change, same port\n  npm test\n`,
  );
}

const CONFIG = `// How \`strata serve\` (npm start) serves the app. A flag overrides a key (\`strata serve --port 8080\`),
// and so does PORT for \`port\`. Every key, with its default: the config page of the strata-stack docs.
import { defineConfig } from 'strata-stack/config';

export default defineConfig({
  app: './app.ts',
  port: 3000,
  // The files of public/, served before the app (paths here are relative to this file).
  static: './public',
  // Limits, at their defaults: uncomment one to change it.
  // maxBodySize: 1024 * 1024, // the largest request body, in bytes (413 beyond)
  // headersTimeout: 20_000, // ms to receive a request's head (408 after)
  // maxInFlight: 0, // requests answered at once (0: no cap; 503 + Retry-After beyond)
});
`;

const APP = `// The app: a small JSON API. \`npm start\` serves it on http://127.0.0.1:3000, with the files of
// public/ in front of it; \`npm test\` runs app.test.ts against it in-process (app.request()).
import { App, HttpError, parseBody } from 'strata-stack';

interface Note {
  id: number;
  text: string;
}

// In memory, so per process: a real app keeps this in a database.
const notes: Note[] = [{ id: 1, text: 'Hello from strata' }];

const app = new App();

app.get('/api/hello/:name', (c) => c.json({ hello: c.params.name }));

app.get('/api/notes', (c) => c.json(notes));

// {[0-9]+}: the route only matches numbers; /api/notes/abc is a 404 without reaching the handler.
app.get('/api/notes/:id{[0-9]+}', (c) => {
  const note = notes.find((n) => n.id === Number(c.params.id));
  if (note === undefined) throw new HttpError(404, \`There is no note \${c.params.id}\`);
  return c.json(note);
});

app.post('/api/notes', async (c) => {
  // parseBody: JSON (or a form) with size limits. To check shapes with zod, valibot or arktype,
  // use validate({ body: schema }) instead (see the strata-stack README).
  const body = (await parseBody(c.req)) as { text?: unknown } | undefined;
  if (typeof body?.text !== 'string' || body.text.trim() === '')
    throw new HttpError(400, 'Send JSON with a text, like {"text": "Buy milk"}');
  const note: Note = { id: notes.length + 1, text: body.text };
  notes.push(note);
  return c.json(note, 201);
});

export default app;
`;

const APP_TEST = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import app from './app.ts';

test('GET /api/hello/:name greets by name', async () => {
  const res = await app.request('/api/hello/ada');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { hello: 'ada' });
});

test('a note that does not exist is a 404 problem', async () => {
  const res = await app.request('/api/notes/999');
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /^application\\/problem\\+json/);
});

test('POST /api/notes adds a note that GET then finds', async () => {
  const res = await app.request('/api/notes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'Buy milk' }),
  });
  assert.equal(res.status, 201);
  const note = (await res.json()) as { id: number; text: string };
  assert.equal(note.text, 'Buy milk');
  const again = await app.request(\`/api/notes/\${note.id}\`);
  assert.deepEqual(await again.json(), note);
});

test('POST /api/notes without a text is a 400', async () => {
  const res = await app.request('/api/notes', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(res.status, 400);
});
`;

const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>{{name}}</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
      input { font: inherit; padding: 0.25rem; }
    </style>
  </head>
  <body>
    <h1>{{name}}</h1>
    <p>Served by strata from <code>public/</code>; the API is <code>app.ts</code>.</p>
    <ul id="notes"></ul>
    <form id="add">
      <input name="text" placeholder="A new note" required />
      <button>Add</button>
    </form>
    <script type="module">
      const list = document.querySelector('#notes');
      const show = (note) => list.append(Object.assign(document.createElement('li'), { textContent: note.text }));
      for (const note of await (await fetch('/api/notes')).json()) show(note);
      document.querySelector('#add').addEventListener('submit', async (event) => {
        event.preventDefault();
        const text = event.target.text.value;
        const res = await fetch('/api/notes', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
        });
        if (res.ok) show(await res.json());
        event.target.reset();
      });
    </script>
  </body>
</html>
`;

const README = `# {{name}}

A [strata](https://www.npmjs.com/package/strata-stack) app.

\`\`\`sh
npm install
npm start          # http://127.0.0.1:3000 (PORT=8080 npm start for another port)
npm run dev        # the same, restarted on a change to a module or the config (same port),
                   # with stack traces in 500 answers, the access log and readable logs
npm test           # app.test.ts, in-process through app.request()
npm run typecheck  # tsc (node runs the .ts files directly: it strips the types)
\`\`\`

- \`app.ts\`: the API (\`export default app\`).
- \`strata.config.ts\`: how \`strata serve\` serves it: the app, the port, \`public/\`, limits.
- \`public/\`: static files, served before the app.
- \`app.test.ts\`: tests with \`node --test\`, no server needed.

Node.js 24 or newer runs it. The \`node\` devDependency pins Node 24 for npm scripts, so
\`npm start\` and \`npm test\` work even where the machine's Node is older; to run \`npx strata\`
or \`node\` yourself, use Node 24.

More: \`npx strata serve --help\`, and node_modules/strata-stack/README.md.
`;
