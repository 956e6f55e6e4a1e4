/** The conformance suite (cases.ts) against a plain `node:http` server through `createNodeHandler`. */
import { conformance } from './cases.ts';

conformance('node-http', {
  command: process.execPath,
  args: ['test/fixtures/conformance/node-http.ts'],
  missing: () => undefined,
});
