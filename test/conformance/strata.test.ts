/** The conformance suite (cases.ts) against strata's own `serve()`. */
import { conformance, LAUNCHERS } from './cases.ts';

conformance('strata', LAUNCHERS.strata);
