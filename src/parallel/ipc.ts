/**
 * The typed channel between the supervisor's primary and its workers. Every message strata sends
 * has a `type` starting with `strata:`, so a user's own `process.send` traffic passes untouched.
 */

/** What the primary and the workers say to each other. */
export type SupervisorMessage =
  | { type: 'strata:ready'; port: number }
  | { type: 'strata:drain' }
  | { type: 'strata:recycle'; served: number }
  /** The worker went under pressure (the limit passed) or recovered (`null`): it sheds load meanwhile. */
  | { type: 'strata:pressure'; pressure: string | null }
  | { type: 'strata:msg'; name: string; payload: unknown }
  | { type: 'strata:ask'; id: number; name: string; payload: unknown }
  | { type: 'strata:answer'; id: number; ok: boolean; value?: unknown; error?: string };

export function isSupervisorMessage(message: unknown): message is SupervisorMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('strata:')
  );
}

/** The environment variable that tells a process it runs under the supervisor (its worker id). */
export const WORKER_ID_ENV = 'STRATA_WORKER_ID';

/** A worker's side of the channel to the primary. */
export interface WorkerChannel {
  /** This worker's id (1, 2, … in start order; a replacement gets a new one). */
  readonly workerId: number;
  /** Answers the primary's `collect(type, …)`: the value (or promise) returned is sent back. */
  handle(type: string, handler: (payload: unknown) => unknown): void;
  /** Receives the primary's `broadcast(type, …)`. */
  on(type: string, listener: (payload: unknown) => void): void;
  /** Sends to the primary's `on(type, …)` listeners; false if the channel is gone. */
  send(type: string, payload: unknown): boolean;
}

class ProcessWorkerChannel implements WorkerChannel {
  readonly workerId: number;
  readonly #handlers = new Map<string, (payload: unknown) => unknown>();
  readonly #listeners = new Map<string, ((payload: unknown) => void)[]>();

  constructor(workerId: number) {
    this.workerId = workerId;
    const onMessage = (message: unknown): void => {
      if (!isSupervisorMessage(message)) return;
      if (message.type === 'strata:ask') void this.#answer(message.id, message.name, message.payload);
      else if (message.type === 'strata:msg') {
        for (const listener of this.#listeners.get(message.name) ?? []) listener(message.payload);
      }
    };
    process.on('message', onMessage);
    // No unref() here: the channel may be made before the server listens (the cluster broker is),
    // and an unref'd channel let a worker exit mid-startup when nothing else held the loop. A
    // draining worker ends with process.exit, so the channel never keeps it alive.
  }

  handle(type: string, handler: (payload: unknown) => unknown): void {
    this.#handlers.set(type, handler);
  }

  on(type: string, listener: (payload: unknown) => void): void {
    const list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, [listener]);
    else list.push(listener);
  }

  send(type: string, payload: unknown): boolean {
    return sendToPrimary({ type: 'strata:msg', name: type, payload });
  }

  async #answer(id: number, name: string, payload: unknown): Promise<void> {
    const handler = this.#handlers.get(name);
    if (handler === undefined) {
      sendToPrimary({ type: 'strata:answer', id, ok: false, error: `no handler for "${name}"` });
      return;
    }
    try {
      const value = await handler(payload);
      sendToPrimary({ type: 'strata:answer', id, ok: true, value });
    } catch (err) {
      sendToPrimary({ type: 'strata:answer', id, ok: false, error: (err as Error)?.message ?? String(err) });
    }
  }
}

/** Sends one message to the primary; false when there is no channel (or it has closed). */
export function sendToPrimary(message: SupervisorMessage): boolean {
  if (process.send === undefined || !process.connected) return false;
  try {
    process.send(message);
    return true;
  } catch {
    return false;
  }
}

let channel: WorkerChannel | undefined;

/**
 * The worker's channel to the supervisor, or `undefined` when this process is not a supervised
 * worker (plain `strata serve`, tests, another runtime).
 *
 * @example
 * const channel = workerChannel();
 * channel?.handle('metrics', () => registry.metrics());
 * channel?.on('publish', (message) => localRooms.deliver(message));
 */
export function workerChannel(): WorkerChannel | undefined {
  if (channel !== undefined) return channel;
  const id = Number(process.env[WORKER_ID_ENV]);
  if (!Number.isInteger(id) || id <= 0 || process.send === undefined) return undefined;
  channel = new ProcessWorkerChannel(id);
  return channel;
}
