import type { Server } from 'node:http';
import type { WebSocketEndpoint } from '../gateway/node-upgrade.ts';
import type { App } from '../gateway/types.ts';
import { loggableError } from '../observe/loggable-error.ts';
import type { Logger } from '../observe/logger.ts';
import type { AccessLog } from './access-log.ts';
import type { AdminServer } from './admin.ts';
import type { ConnectionGuard } from './connection-guard.ts';
import type { FastLane } from './h1/lane.ts';
import type { Http2Sessions } from './h2/sessions.ts';
import type { ServerState } from './server-state.ts';

const keepIdleConnections = (): void => {};

/** `waitUntil` work: kept until it settles, awaited (up to a timeout) by the shutdown. */
export class PendingWork {
  readonly #pending = new Set<Promise<unknown>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  readonly add = (work: Promise<unknown>): void => {
    const pending = this.#pending;
    pending.add(work);
    work.then(
      () => pending.delete(work),
      (err: unknown) => {
        pending.delete(work);
        // The app's rejection value: anything, read only through a plain copy.
        this.#log.error({ err: loggableError(err) }, 'waitUntil work failed');
      },
    );
  };

  /** Waits for the work still pending, at most `timeout` ms. */
  async settle(timeout: number): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#log.warn({ pending: this.#pending.size }, 'shutdown timeout: abandoning waitUntil work');
        resolve();
      }, timeout);
    });
    await Promise.race([Promise.allSettled([...this.#pending]), expired]);
    clearTimeout(timer);
  }
}

/** What the shutdown sequence closes, in order. */
export interface ShutdownParts {
  server: Server;
  state: ServerState;
  guard: ConnectionGuard;
  lane: FastLane | undefined;
  /** HTTP/2 sessions: GOAWAY at the drain's start, destroyed at its deadline. */
  h2: Http2Sessions | undefined;
  websockets: WebSocketEndpoint | undefined;
  work: PendingWork;
  app: App | undefined;
  /** Node apps write their own headers: tells the responses in flight to close their connection. */
  markClosing: () => void;
  stopMonitor: () => void;
  admin: AdminServer | undefined;
  accessLog: AccessLog | undefined;
  log: Logger;
  shutdownTimeout: number;
}

/**
 * Graceful shutdown: stop accepting, finish in-flight requests (their responses say
 * `Connection: close`), close idle connections once quiet, close WebSockets (1001), force-close
 * whatever is left after `shutdownTimeout`; then await `waitUntil` work (its own
 * `shutdownTimeout`), run the app's `shutdown` hook, stop the monitor and the admin listener,
 * and close the access log after the last line.
 */
export async function shutdown(p: ShutdownParts): Promise<void> {
  const { server, guard, lane, log } = p;
  p.state.draining = true;
  p.markClosing();
  // http's close() also closes every idle connection at once, racing requests already on their
  // way (see ConnectionGuard.startDrain): it runs here with that one step switched off, and is
  // otherwise unchanged (stops accepting, stops the connection-checking timer, one 'close').
  server.closeIdleConnections = keepIdleConnections;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // WebSockets get 1001 now; the server's close waits for their sockets too.
  const websocketsClosed = p.websockets?.close();
  delete (server as { closeIdleConnections?: unknown }).closeIdleConnections;
  guard.startDrain();
  p.h2?.drain();
  const deadline = setTimeout(() => {
    log.warn({ timeout: p.shutdownTimeout }, 'shutdown timeout: closing the remaining connections');
    server.closeAllConnections();
    lane?.destroyAll();
    p.h2?.destroyAll();
    // node no longer tracks a socket that left HTTP (an upgrade the app is still deciding, or
    // one queued behind a response that never ends): every one still open goes too.
    guard.destroyAll();
  }, p.shutdownTimeout);
  await closed;
  await websocketsClosed;
  guard.stopDrain();
  clearTimeout(deadline);
  lane?.close();
  // waitUntil work gets its own shutdownTimeout, after the connections are gone.
  await p.work.settle(p.shutdownTimeout);
  if (p.app?.shutdown !== undefined) await p.app.shutdown();
  p.app?.attachPubSub?.(undefined);
  p.stopMonitor();
  await p.admin?.close();
  if (p.accessLog !== undefined) {
    // node counts a socket gone (and the server closed) as it starts closing, a turn of the loop
    // before the socket's own 'close': the line of a response on a socket that left HTTP (a
    // handshake, a CONNECT) is written then, and must come before the log closes.
    await guard.whenAllClosed(1000);
    await p.accessLog.close();
  }
}
