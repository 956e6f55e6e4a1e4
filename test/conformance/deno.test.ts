/**
 * The conformance suite (cases.ts) on Deno (`serveDeno`), from the `deno` npm package, with the
 * permissions a strata app needs (`LAUNCHERS.deno` in cases.ts).
 */
import { conformance, LAUNCHERS } from './cases.ts';

conformance('deno', LAUNCHERS.deno);
