/**
 * `strata`: the public entry. The framework (`App`, router, middleware) lands here; today it
 * offers the gateway contract that every strata app implements.
 */
export { openFile } from './gateway/index.ts';
export type { App, FetchHandler, RemoteAddress, ServeInfo } from './gateway/types.ts';
