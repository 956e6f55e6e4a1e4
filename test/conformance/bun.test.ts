/** The conformance suite (cases.ts) on Bun (`serveBun`), from the `bun` npm package. */
import { conformance, LAUNCHERS } from './cases.ts';

conformance('bun', LAUNCHERS.bun);
