/** The conformance suite (cases.ts) on Bun (`serveBun`), from the `bun` npm package. */
import { binary, binaryMissing, conformance } from './cases.ts';

conformance('bun', {
  command: binary('bun'),
  args: ['run', 'test/fixtures/conformance/bun.ts'],
  missing: () => binaryMissing('bun'),
});
