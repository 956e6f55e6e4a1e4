/** The conformance suite (cases.ts) against a plain `node:http` server through `createNodeHandler`. */
import { conformance, LAUNCHERS } from './cases.ts';

conformance('node-http', LAUNCHERS['node-http']);
