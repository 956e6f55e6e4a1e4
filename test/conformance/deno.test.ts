/**
 * The conformance suite (cases.ts) on Deno (`serveDeno`), from the `deno` npm package. The
 * permissions are the ones a strata app needs: net, read (its modules), env, and sys=hostname
 * (pino reads `os.hostname()` when it loads).
 */
import { binary, binaryMissing, conformance } from './cases.ts';

conformance('deno', {
  command: binary('deno'),
  args: [
    'run',
    '--allow-net=127.0.0.1',
    '--allow-read',
    '--allow-env',
    '--allow-sys=hostname',
    'test/fixtures/conformance/deno.ts',
  ],
  missing: () => binaryMissing('deno'),
});
