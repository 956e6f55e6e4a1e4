/**
 * Finds `strata.config.{ts,mjs,js,json}`, loads it, and checks it against CONFIG_SCHEMA before
 * anything listens. Every failure is a CliError with exit code 2 and a STRATA_ERR_CONFIG_ code.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StrataConfig } from './config.ts';
import type { ConfigIssue } from './config-rules.ts';
import { validate } from './config-rules.ts';
import { CONFIG_SCHEMA } from './config-schema.ts';
import { CliError } from './errors.ts';

/** The names looked for in the current directory, when no `--config` is given. */
export const CONFIG_NAMES = [
  'strata.config.ts',
  'strata.config.mjs',
  'strata.config.js',
  'strata.config.json',
];

/** A config file, loaded and checked: relative paths in it are now absolute. */
export interface LoadedConfig {
  /** Absolute path of the file (workers are given this path). */
  path: string;
  values: StrataConfig;
}

/** Past this many bytes a JSON config is refused unread. */
const MAX_JSON_BYTES = 1_048_576;

const EXTENSIONS = new Set(['.ts', '.mts', '.mjs', '.js', '.json']);

function configError(code: string, message: string, cause?: unknown): CliError {
  return new CliError(
    code,
    `${message}\nSee docs/config.md.`,
    2,
    cause === undefined ? undefined : { cause },
  );
}

/** The config file to use: `--config PATH`, else the one `strata.config.*` in `cwd`, else none. */
export function findConfigFile(given: string | undefined, cwd: string): string | undefined {
  if (given !== undefined) {
    const path = resolve(cwd, given);
    if (!existsSync(path) || !statSync(path).isFile())
      throw configError('STRATA_ERR_CONFIG_NOT_FOUND', `--config: no file at ${path}`);
    if (!EXTENSIONS.has(extname(path)))
      throw configError(
        'STRATA_ERR_CONFIG_NOT_FOUND',
        `--config: ${basename(path)} is not a .ts, .mts, .mjs, .js or .json file`,
      );
    return path;
  }
  const found = CONFIG_NAMES.filter((name) => existsSync(resolve(cwd, name)));
  if (found.length > 1)
    throw configError(
      'STRATA_ERR_CONFIG_AMBIGUOUS',
      `${found.join(' and ')} are both in ${cwd}; keep one, or choose with --config`,
    );
  return found.length === 1 ? resolve(cwd, found[0]!) : undefined;
}

/** Imports (or parses) the file and checks it; throws a CliError naming every bad key. */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  const json = extname(path) === '.json';
  let exported: unknown;
  try {
    if (json) {
      if (statSync(path).size > MAX_JSON_BYTES) throw new Error(`larger than ${MAX_JSON_BYTES} bytes`);
      exported = JSON.parse(readFileSync(path, 'utf8'));
    } else {
      const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      if (!('default' in mod))
        throw new Error('it has no default export: end it with `export default defineConfig({ … })`');
      exported = mod.default;
    }
  } catch (err) {
    throw configError(
      'STRATA_ERR_CONFIG_LOAD',
      `Could not load ${path}: ${(err as Error)?.message ?? err}`,
      err,
    );
  }
  try {
    return { path, values: checkConfig(exported, { file: path, dataOnly: json }) };
  } catch (err) {
    if (err instanceof CliError) throw err;
    // A getter or a Proxy trap of the exported object threw while it was being read.
    throw configError(
      'STRATA_ERR_CONFIG_LOAD',
      `Could not read ${path}: ${(err as Error)?.message ?? err}`,
      err,
    );
  }
}

/** Checks a config value (what the file exported); throws a CliError listing every issue. */
export function checkConfig(value: unknown, options: { file: string; dataOnly: boolean }): StrataConfig {
  const { value: clean, issues } = validate(value, CONFIG_SCHEMA, {
    baseDir: dirname(options.file),
    dataOnly: options.dataOnly,
  });
  if (issues.length > 0) throw configIssuesError(options.file, issues);
  return clean as StrataConfig;
}

/** One error for all of the file's issues, each on its own line with its path; the first's code. */
export function configIssuesError(file: string, issues: ConfigIssue[]): CliError {
  const shown = issues.slice(0, 20);
  const more = issues.length > shown.length ? `\n  … and ${issues.length - shown.length} more` : '';
  const count = issues.length === 1 ? 'an error' : `${issues.length} errors`;
  const error = configError(
    issues[0]!.code,
    `${file} has ${count}; nothing was started:\n${shown.map((i) => `  ${i.path}: ${i.message}`).join('\n')}${more}`,
  );
  return Object.assign(error, { issues });
}
