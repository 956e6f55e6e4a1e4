import { type Logger, pino } from 'pino';

export type { Logger };

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Minimum level written; default `info` (`silent` writes nothing). */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where to write: a file descriptor (default 1, stdout). */
  fd?: number;
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
    { level: options.level ?? 'info', base: { pid: process.pid } },
    pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}
