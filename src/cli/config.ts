/**
 * The shape of `strata.config.ts`, and `defineConfig`. Types only at run time: a config file
 * that imports `defineConfig` loads nothing of the server (the primary of `--workers` imports the
 * config file too, and never the app).
 */
import type { SUPERVISOR_DEFAULTS, SupervisorMode } from '../parallel/options.ts';
import type { AcmeConfig } from '../server/acme/options.ts';
import type { ServeOptions } from '../server.ts';

/**
 * `serve()` options a config file cannot hold, each with the reason. The validator answers a key
 * of this list with the reason instead of "unknown key".
 */
export const NOT_IN_CONFIG = {
  signal: 'the CLI owns shutdown (SIGTERM/SIGINT); call serve() from code to pass an AbortSignal',
  broker:
    'a broker object would be created in every process that reads the file, the supervisor included; set `redis` (a URL) instead',
  onRequestStart: 'the supervisor sets it in its workers; call serve() from code for a hook of your own',
  acmeChallenges: 'set `acme` (the domains) instead: the CLI answers the challenges of its own ACME client',
} as const;

/** The supervisor's settings (`strata serve --workers`); see docs/parallel.md. */
export interface WorkersConfig extends Partial<Record<keyof typeof SUPERVISOR_DEFAULTS, number>> {
  /**
   * How many worker processes, or `auto` for one per core. Without it (and without `--workers`)
   * strata runs one process and the other settings here wait for `--workers`.
   */
  count?: number | 'auto';
  /** How workers share the port (`--worker-mode`). */
  mode?: SupervisorMode;
}

/**
 * Everything `strata serve` can be told, in one file: the app, the listener, every `serve()`
 * option, the broker, the workers and the admin listener. CLI flags override it. See
 * docs/config.md for each key, its default, its flag and the nginx directive it replaces.
 */
export interface StrataConfig extends Omit<ServeOptions, keyof typeof NOT_IN_CONFIG | 'metrics' | 'admin'> {
  /** The module to serve, relative to this file (the positional argument of `strata serve`). */
  app?: string;
  /** The admin listener (`/metrics`, `/healthz`): `true` for 127.0.0.1:9100, or its address. */
  admin?: boolean | { host?: string; port?: number; token?: string };
  /** Same as `admin: true` (the `--metrics` flag). */
  metrics?: boolean;
  /** Publish/subscribe across instances through Redis at this URL (`--redis`). */
  redis?: string;
  /** Worker processes under a supervisor: a count, `auto`, or the supervisor's settings. */
  workers?: number | 'auto' | WorkersConfig;
  /** Automatic certificates from an ACME CA (`--acme`); see docs/acme.md. */
  acme?: AcmeConfig;
}

/**
 * Gives a config file its types; returns its argument unchanged.
 *
 * @example
 * // strata.config.ts
 * import { defineConfig } from 'strata-stack/config';
 *
 * export default defineConfig({
 *   app: './app.ts',
 *   port: 8080,
 *   maxBodySize: 10 * 1024 * 1024,
 *   static: { root: './public', spaFallback: 'index.html' },
 *   workers: { count: 'auto', maxRequests: 10_000 },
 * });
 */
export function defineConfig(config: StrataConfig): StrataConfig {
  return config;
}
