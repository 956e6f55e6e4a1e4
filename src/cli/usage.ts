/**
 * Help text and the command line's manners: option tables with one description column, the
 * package version, and "did you mean" for a mistyped command or flag.
 */
import { readFileSync } from 'node:fs';
import { closest } from './config-rules.ts';

/** One line of an option table: `-p, --port <n>` and what it does (more lines after a `\n`). */
export interface OptionHelp {
  short?: string;
  /** The long flag with its argument, without the dashes: `port <n>`. */
  flag: string;
  help: string;
}

const INDENT = '  ';
const GAP = 2;

/**
 * The rows as aligned lines: every description (and its continuation lines) starts at the same
 * column, one past the widest flag.
 */
export function optionTable(rows: readonly OptionHelp[]): string {
  const label = (r: OptionHelp): string => `${r.short === undefined ? '    ' : `-${r.short}, `}--${r.flag}`;
  const width = Math.max(...rows.map((r) => label(r).length)) + GAP;
  const lines: string[] = [];
  for (const row of rows) {
    const [first, ...rest] = row.help.split('\n');
    lines.push(`${INDENT}${label(row).padEnd(width)}${first}`);
    for (const more of rest) lines.push(`${INDENT}${' '.repeat(width)}${more}`);
  }
  return `${lines.join('\n')}\n`;
}

/** This package's version (src/cli/ and dist/cli/ both sit two levels below package.json). */
export function ownVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** ` (did you mean "serve"?)` when `word` is a typo of one of `candidates`, else ''. */
export function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const near = closest(word, candidates);
  return near === undefined ? '' : ` (did you mean "${prefix}${near}"?)`;
}

/**
 * node:util parseArgs' "Unknown option '--prot'" with the nearest known flag added; other
 * messages are returned as they are.
 */
export function unknownOptionMessage(message: string, known: readonly string[]): string {
  const m = /^Unknown option '(-{1,2})([^'=]*)'/.exec(message);
  if (m === null) return message;
  const dashes = m[1]!;
  const name = m[2]!;
  // parseArgs adds "To specify a positional argument starting with a '-', place it at the end
  // of the command after '--', as in '-- "--prot"'": true, and rarely what was meant.
  const hint = dashes === '--' ? didYouMean(name, known, '--') : '';
  return `Unknown option '${dashes}${name}'${hint}`;
}
