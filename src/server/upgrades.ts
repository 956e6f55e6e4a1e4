import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExchangeLog } from './exchange-log.ts';
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
 * handshake ends (101, a refusal, or the app's answer), through the exchange log like any request.
 */
export function acceptUpgrades(
  server: Server,
  upgrade: UpgradeHandler,
  state: ServerState,
  exchangeLog: ExchangeLog | undefined,
  requestStarted: ((req: IncomingMessage) => void) | undefined,
): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (requestStarted !== undefined) requestStarted(req);
    state.enter();
    const ended = exchangeLog?.handshakeStarted(req);
    upgrade(req, socket, head, (status) => {
      state.leave();
      if (ended !== undefined) ended(status);
    });
  });
}
