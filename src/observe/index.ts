/** `strata/observe`: logging (and, later, metrics and request context). */
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
