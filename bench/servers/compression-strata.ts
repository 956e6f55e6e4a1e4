// strata answering a ~10 KB JSON document. CODING=off: compression off; CODING=gzip|br|zstd|deflate:
// compression on, offering only that coding (the client accepts all four). KIND=node: the same
// as a node-style (req, res) app, compressed through strata's wrapped res.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nodeHandler } from '../../src/gateway/index.ts';
import { serve } from '../../src/server.ts';
import { JSON_10K } from '../fixtures/json-10k.ts';

const coding = process.env.CODING ?? 'off';
const compression = coding === 'off' ? false : { encodings: [coding as 'gzip' | 'br' | 'zstd' | 'deflate'] };
const app =
  process.env.KIND === 'node'
    ? nodeHandler((_req: IncomingMessage, res: ServerResponse) => {
        const body = JSON.stringify(JSON_10K);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      })
    : { fetch: () => Response.json(JSON_10K) };
const server = await serve(app, {
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  logger: false,
  compression,
});
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
