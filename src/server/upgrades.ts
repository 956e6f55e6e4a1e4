import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AccessLog } from './access-log.ts';
import type { ServerState } from './server-state.ts';

type UpgradeHandler = (
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ended?: (status: number) => void,
) => void;

/**
 * node's 'upgrade' for the WebSocket handshakes the edge policy passed (its shouldUpgradeCallback
 * asked the policy): counted at arrival, in flight while the app decides, and logged once the
 * handshake ends (101, a refusal, or the app's answer).
 */
export function acceptUpgrades(
  server: Server,
  upgrade: UpgradeHandler,
  state: ServerState,
  accessLog: AccessLog | undefined,
  requestStarted: ((req: IncomingMessage) => void) | undefined,
): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (requestStarted !== undefined) requestStarted(req);
    state.enter();
    const start = performance.now();
    const id = accessLog?.assignId(req);
    upgrade(req, socket, head, (status) => {
      state.leave();
      accessLog?.handshake(req, status, start, id);
    });
  });
}
