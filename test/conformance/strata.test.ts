/** The conformance suite (cases.ts) against strata's own `serve()`. */
import { conformance } from './cases.ts';

conformance('strata', {
  command: process.execPath,
  args: ['test/fixtures/conformance/strata.ts'],
  missing: () => undefined,
});
