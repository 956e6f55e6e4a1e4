import { type Logger, pino } from 'pino';
import { loggableError } from './loggable-error.ts';

export type { Logger };

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Minimum level written; default `info` (`silent` writes nothing). */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where to write: a file descriptor (default 1, stdout). */
  fd?: number;
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
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid },
      // Whatever was thrown, logged through a plain copy: a frozen error or a throwing getter
      // in `err` must not turn a log line into a crash.
      serializers: { err: serializeError },
    },
    pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}
