import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebSocketEndpoint } from '../../src/gateway/node-upgrade.ts';
import type { ServeInfo } from '../../src/gateway/types.ts';
import { serve } from '../../src/server/serve.ts';
import { rawRequest } from '../fixtures/http.ts';
import { handshake } from '../fixtures/ws.ts';

// The edge's serve() knows WebSockets only through the gateway's WebSocketEndpoint, given by the
// `websockets` option (strata-stack/server gives realtime's RealtimeServer).

const app = {
  fetch(request: Request, info: ServeInfo): Response {
    if (info.upgrade !== undefined) return info.upgrade({ message() {} });
    return new Response(`plain ${new URL(request.url).pathname}`);
  },
};

for (const fastLane of [true, false]) {
  describe(`the WebSocket endpoint is the caller's (fastLane: ${fastLane})`, () => {
    test('without one, an upgrade request is an ordinary request', async () => {
      const server = await serve(app, { port: 0, logger: false, fastLane });
      try {
        assert.equal(server.realtime, undefined);
        const reply = await rawRequest(server.port, handshake('/ws', server.port));
        assert.equal(reply.status, 200);
        assert.match(reply.text, /plain \/ws/);
      } finally {
        await server.close();
      }
    });

    test('a given endpoint vets the handshake, receives pub/sub, and is closed with the server', async () => {
      const seen: string[] = [];
      let loggerGiven = false;
      const endpoint: WebSocketEndpoint = {
        vet(req) {
          seen.push(`vet ${req.url}`);
          return { status: 418, message: 'the test endpoint refuses' };
        },
        accept() {
          seen.push('accept');
        },
        publish() {},
        subscriberCount: () => 0,
        async close() {
          seen.push('close');
        },
      };
      const server = await serve(app, {
        port: 0,
        logger: false,
        fastLane,
        websockets: ({ logger }) => {
          loggerGiven = typeof logger.info === 'function';
          return endpoint;
        },
      });
      assert.equal(server.realtime, endpoint);
      assert.ok(loggerGiven);
      const reply = await rawRequest(server.port, handshake('/ws', server.port));
      assert.equal(reply.status, 418);
      await server.close();
      assert.deepEqual(seen, ['vet /ws', 'close']);
    });
  });
}
