import { writeSync } from 'node:fs';
import { type Logger, pino } from 'pino';
import { loggableError } from './loggable-error.ts';

export type { Logger };

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Minimum level written; default `info` (`silent` writes nothing). */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where to write: a file descriptor (default 1, stdout). */
  fd?: number;
  /**
   * `json` (default): one JSON object a line, for machines. `pretty`: one readable line,
   * `12:00:01.123 INFO  listening url=http://…`, for a developer's terminal (`strata serve --dev`).
   */
  format?: LogFormat;
}

export type LogFormat = 'json' | 'pretty';

let defaultFormat: LogFormat = 'json';

/**
 * The format of every logger created from now on without one (the CLI's `--dev` on a terminal
 * sets `pretty` before the server and the app make theirs).
 */
export function setDefaultLogFormat(format: LogFormat): void {
  defaultFormat = format;
}

/** A copy made by loggableError already (null prototype): copying it again would mangle its causes. */
function isCopy(value: unknown): value is Record<string, unknown> {
  try {
    return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === null;
  } catch {
    return false;
  }
}

/** pino's `err` shape (`type`, `message`, `stack`, causes), read through a plain copy. */
function serializeError(value: unknown): Record<string, unknown> {
  const copy = isCopy(value) ? value : loggableError(value);
  return { type: copy.name, ...copy };
}

/**
 * The structured logger every layer writes through: pino, JSON lines, synchronous writes to the
 * descriptor so that a crash loses nothing.
 *
 * @example
 * const log = createLogger({ level: 'debug' });
 * log.info({ port: 3000 }, 'listening');
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 1;
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      // Whatever was thrown, logged through a plain copy: a frozen error or a throwing getter
      // in `err` must not turn a log line into a crash.
      serializers: { err: serializeError },
    },
    (options.format ?? defaultFormat) === 'pretty'
      ? { write: (line: string) => writeSync(fd, prettyLine(line)) }
      : pino.destination({ fd, sync: true }),
  );
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};

/**
 * Control characters as `\\xNN` (a request path or header in a log line must not move the
 * cursor or retitle the terminal); JSON escapes some of them already, not DEL or C1.
 */
function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes.
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * A pino JSON line as `HH:MM:SS.mmm LEVEL msg key=value…`, an error's stack on the lines below.
 * Written here rather than with pino-pretty: a dozen lines against a dependency tree of a dozen
 * packages and a worker-thread transport, for a format only a terminal reads.
 */
export function prettyLine(line: string, color = process.env.NO_COLOR === undefined): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, pid: _pid, err, ...rest } = entry;
  const [label, tint] = LEVELS[level as number] ?? ['LOG  ', '0'];
  const when = typeof time === 'number' ? new Date(time).toTimeString().slice(0, 8) : '';
  const ms = typeof time === 'number' ? `.${String(time % 1000).padStart(3, '0')}` : '';
  const fields = Object.entries(rest)
    .map(
      ([k, v]) =>
        `${printable(k)}=${typeof v === 'string' && /^[!#-<>-~]+$/.test(v) ? v : printable(JSON.stringify(v) ?? String(v))}`,
    )
    .join(' ');
  const head = `${when}${ms} ${color ? `\x1b[${tint}m${label}\x1b[0m` : label} ${printable(String(msg ?? ''))}${fields === '' ? '' : ` ${color ? `\x1b[2m${fields}\x1b[0m` : fields}`}`;
  const stack = (err as { stack?: unknown } | undefined)?.stack;
  const detail =
    typeof stack === 'string'
      ? `\n  ${stack.split('\n').map(printable).join('\n  ')}`
      : err === undefined
        ? ''
        : ` err=${printable(JSON.stringify(err) ?? '')}`;
  return `${head}${detail}\n`;
}
