/**
 * Why an app's module did not load, said the way a compiler would: `file:line:column`, the
 * source line with a caret under the spot, and a hint for the usual slips (an import without
 * its `.ts`, syntax type stripping cannot erase, `strata` for `strata-stack`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A place in a file (1-based), with the caret's width. */
export interface SourceSpot {
  file: string;
  line: number;
  column: number;
  width: number;
}

/** What to print: the error's own words, where, and how to fix it. */
export interface LoadFailure {
  message: string;
  spot: SourceSpot | undefined;
  hint: string | undefined;
}

const JS_EXTENSIONS = new Set(['.js', '.mjs', '.cjs']);
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

/**
 * Node's decorated stack of a syntax error: `path:line`, source lines, then a line of carets
 * under the spot in the error's line (the last source line above the carets).
 */
export function spotFromArrow(text: string): SourceSpot | undefined {
  const lines = text.split('\n');
  const head = /^(.+):(\d+)$/.exec(lines[0] ?? '');
  if (head === null) return undefined;
  const caretAt = lines.findIndex((l, i) => i > 0 && /^\s*\^+\s*$/.test(l));
  if (caretAt < 2) return undefined;
  const caret = lines[caretAt]!;
  const column = caret.indexOf('^') + 1;
  const width = caret.trimEnd().length - column + 1;
  const file = head[1]!.startsWith('file://') ? fileURLToPath(head[1]!) : head[1]!;
  return { file, line: Number(head[2]), column, width };
}

/** The first stack frame in a file of the app (not node's, not under node_modules). */
function spotFromStack(stack: string): SourceSpot | undefined {
  for (const m of stack.matchAll(/\(?(file:\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)\)?$/gm)) {
    const path = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (/[\\/]node_modules[\\/]/.test(path)) continue;
    return { file: path, line: Number(m[2]), column: Number(m[3]), width: 1 };
  }
  return undefined;
}

/** `node --check` on a JavaScript file: V8's syntax error with its place (import() gives none). */
function checkSyntax(file: string): SourceSpot | undefined {
  const result = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? undefined : spotFromArrow(result.stderr ?? '');
}

/** The line of `file` that imports `specifier`-ish text, with the caret under the quoted name. */
function importSpot(file: string, name: string): SourceSpot | undefined {
  const source = readSource(file);
  if (source === undefined) return undefined;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(['"])((?:[^'"\\n]*/)?${escaped})\\1`);
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = pattern.exec(lines[i]!);
    if (m !== null && /\b(?:import|from|export)\b/.test(lines[i]!))
      return { file, line: i + 1, column: m.index + 1, width: m[0].length };
  }
  return undefined;
}

function readSource(file: string): string | undefined {
  try {
    if (statSync(file).size > MAX_SOURCE_BYTES) return undefined;
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const UNSUPPORTED_TS: [RegExp, string][] = [
  [
    /\benum\b/,
    'an enum is not erasable: use an object, `const Color = { Red: "red" } as const`, and `type Color = (typeof Color)[keyof typeof Color]`',
  ],
  [
    /\bnamespace\b|\bmodule\b/,
    'a namespace is not erasable: put its members in a module (a file) of their own',
  ],
  [
    /parameter propert/,
    'a parameter property (`constructor(private x: T)`) is not erasable: declare the field and assign it in the constructor',
  ],
];

/**
 * Reads what went wrong out of a module-load error. `lastLoaded` is the last file the loader
 * read (module-graph.ts), the likely culprit of a JavaScript syntax error that names no file.
 */
export function explainLoadError(err: unknown, lastLoaded?: string): LoadFailure {
  const e = err as { code?: unknown; message?: unknown; stack?: unknown; url?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = typeof e?.message === 'string' ? e.message : String(err);
  const stack = typeof e?.stack === 'string' ? e.stack : '';
  const message = code === undefined ? text : `${text} [${code}]`;

  if (code === 'ERR_MODULE_NOT_FOUND') {
    const pkg = /^Cannot find package '([^']+)' imported from (.+)$/.exec(text);
    if (pkg !== null) {
      const name = pkg[1]!;
      const importer = pkg[2]!;
      const spot = importSpot(importer, name);
      if (name === 'strata' || name.startsWith('strata/'))
        return {
          message,
          spot,
          hint: `the package is strata-stack: import from '${name.replace(/^strata/, 'strata-stack')}'`,
        };
      return { message, spot, hint: `is ${name} installed? npm install ${name}` };
    }
    const mod = /^Cannot find module '([^']+)' imported from (.+)$/.exec(text);
    if (mod !== null) {
      const missing = mod[1]!;
      const importer = mod[2]!;
      const spot = importSpot(importer, basename(missing));
      const asTs = missing.endsWith('.js') ? missing.replace(/\.js$/, '.ts') : `${missing}.ts`;
      if (extname(missing) !== '.ts' && isFile(asTs))
        return {
          message,
          spot,
          hint: `${asTs} exists: node imports a file by its full name, so write '${basename(asTs)}' (tsconfig: allowImportingTsExtensions)`,
        };
      if (isFile(`${missing}/index.ts`) || isFile(`${missing}/index.js`))
        return {
          message,
          spot,
          hint: 'node does not import a directory: name its index file, as in ./dir/index.ts',
        };
      return { message, spot, hint: undefined };
    }
  }

  if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
    const hint = UNSUPPORTED_TS.find(([pattern]) => pattern.test(text))?.[1];
    return {
      message,
      spot: spotFromArrow(stack),
      hint: `${hint ?? 'node runs TypeScript by stripping the types, so only erasable syntax works'}; tsconfig's erasableSyntaxOnly reports these before node does`,
    };
  }

  if (err instanceof SyntaxError || code === 'ERR_INVALID_TYPESCRIPT_SYNTAX') {
    let spot = spotFromArrow(stack);
    if (spot === undefined && lastLoaded !== undefined && JS_EXTENSIONS.has(extname(lastLoaded)))
      spot = checkSyntax(lastLoaded);
    return { message, spot, hint: undefined };
  }

  return { message, spot: spotFromStack(stack), hint: undefined };
}

/** Widest source line shown whole; a longer one (minified code) is shown around the spot. */
const FRAME_WIDTH = 160;

/** Control characters (but tabs) as `\\xNN`: a source line must not drive the terminal. */
function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes.
    /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** `file:line:column`, the source line and a caret under the spot; the place alone when the file cannot be read. */
export function codeFrame(spot: SourceSpot): string {
  const where = printable(`${spot.file}:${spot.line}:${spot.column}`);
  let line = readSource(spot.file)?.split('\n')[spot.line - 1]?.replace(/\r$/, '');
  if (line === undefined) return where;
  let column = Math.min(Math.max(1, spot.column), line.length + 1);
  let width = Math.max(1, Math.min(spot.width, line.length - column + 1));
  if (line.length > FRAME_WIDTH) {
    const from = Math.max(0, column - 1 - FRAME_WIDTH / 2);
    const to = Math.min(line.length, from + FRAME_WIDTH);
    const lead = from > 0 ? '…' : '';
    line = `${lead}${line.slice(from, to)}${to < line.length ? '…' : ''}`;
    column = column - from + lead.length;
    width = Math.max(1, Math.min(width, line.length - column + 1));
  }
  const number = String(spot.line);
  const gutter = ' '.repeat(number.length);
  // Tabs stay tabs under the caret, so that it lines up in any terminal.
  const shown = printable(line.slice(0, column - 1));
  const pad = shown.replace(/[^\t]/g, ' ');
  return `${where}\n ${number} | ${shown}${printable(line.slice(column - 1))}\n ${gutter} | ${pad}${'^'.repeat(width)}`;
}

/** The whole report: the error, where it is with the line, and the hint. */
export function formatLoadFailure(failure: LoadFailure): string {
  const parts = [printable(failure.message)];
  if (failure.spot !== undefined) parts.push(codeFrame(failure.spot));
  if (failure.hint !== undefined) parts.push(`hint: ${failure.hint}`);
  return parts.join('\n');
}
