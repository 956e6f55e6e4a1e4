/**
 * `strata-stack/config`: the types of `strata.config.ts` and `defineConfig`. Importing it loads no
 * server code (see docs/config.md).
 */
export { defineConfig, type StrataConfig, type WorkersConfig } from './cli/config.ts';
