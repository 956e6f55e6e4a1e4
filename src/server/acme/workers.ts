/**
 * ACME under `--workers`: only the primary orders (one account, one order, one renewal timer for
 * the machine), but the workers hold the ports, so the primary hands them what they must serve:
 *
 * - each HTTP-01 challenge, before the CA is told to validate — an ask every ready worker
 *   answers once it holds the token, so that the CA's request finds it whichever worker the
 *   kernel gives the connection to;
 * - each issued certificate, which every worker installs in its own certificate store;
 * - on a worker's `hello` (sent once it is ready: a worker started or replaced later), the
 *   pending challenges and the current certificate.
 *
 * A starting worker also reads the stored certificate from disk itself (the same storage, the
 * same user), so that it serves HTTPS from its first connection.
 */

import type { Logger } from '../../observe/logger.ts';
import type { WorkerChannel } from '../../parallel/ipc.ts';
import type { Supervisor } from '../../parallel/supervisor.ts';
import { ChallengeTokens, type Http01Answers } from './challenges.ts';
import type { ResolvedAcmeOptions } from './options.ts';
import type { CertificateSink, ChallengePublisher } from './sink.ts';
import { AcmeStorage, type StoredCertificate } from './storage.ts';

/** IPC names (over the supervisor's `strata:msg`/`strata:ask` messages). */
export const ACME_IPC = {
  /** primary → workers (ask, and msg after a hello): `{ token, keyAuthorization | null }`. */
  challenge: 'strata:acme:challenge',
  /** primary → workers (msg): `{ names, cert, key }`. */
  certificate: 'strata:acme:certificate',
  /** worker → primary (msg), once ready: send me the pending challenges and the certificate. */
  hello: 'strata:acme:hello',
} as const;

/** How long the primary waits for the workers to hold a token before telling the CA. */
const CHALLENGE_ACK_MS = 5000;

interface ChallengeMessage {
  token: string;
  keyAuthorization: string | null;
}

interface CertificateMessage {
  names: string[];
  cert: string;
  key: string;
}

/** The supervisor's side the primary needs. */
export type AcmeSupervisor = Pick<Supervisor, 'collect' | 'broadcast' | 'on' | 'send'>;

/**
 * The primary's publisher and sink: challenges and certificates go to every worker. `add`
 * rejects when no worker took the token (the CA would find nobody to answer it).
 */
export function shareWithWorkers(
  supervisor: AcmeSupervisor,
  log: Logger,
): { publisher: ChallengePublisher; sink: CertificateSink } {
  const pending = new Map<string, string>();
  let current: CertificateMessage | undefined;
  supervisor.on(ACME_IPC.hello, (_payload, workerId) => {
    for (const [token, keyAuthorization] of pending)
      supervisor.send(workerId, ACME_IPC.challenge, { token, keyAuthorization } satisfies ChallengeMessage);
    if (current !== undefined) supervisor.send(workerId, ACME_IPC.certificate, current);
  });
  const publisher: ChallengePublisher = {
    async add(token, keyAuthorization) {
      pending.set(token, keyAuthorization);
      const acks = await supervisor.collect(
        ACME_IPC.challenge,
        { token, keyAuthorization } satisfies ChallengeMessage,
        { timeoutMs: CHALLENGE_ACK_MS },
      );
      if (acks.length === 0) throw new Error('acme: no worker is ready to answer the HTTP-01 challenge');
    },
    async remove(token) {
      pending.delete(token);
      await supervisor.collect(
        ACME_IPC.challenge,
        { token, keyAuthorization: null } satisfies ChallengeMessage,
        {
          timeoutMs: CHALLENGE_ACK_MS,
        },
      );
    },
  };
  const sink: CertificateSink = {
    install(names, pem) {
      current = { names, cert: pem.cert, key: pem.key };
      supervisor.broadcast(ACME_IPC.certificate, current);
      log.info({ names }, 'acme: certificate sent to the workers');
    },
  };
  return { publisher, sink };
}

/**
 * A worker's side: answers HTTP-01 from the tokens the primary sends, and installs the
 * certificates it sends into this worker's store.
 *
 * @example
 * const acme = new AcmeWorker(channel, store, log);
 * await acme.loadStored(options); // before listening
 * const server = await serve(app, { acmeChallenges: acme });
 * acme.hello(); // once ready
 */
export class AcmeWorker implements Http01Answers {
  readonly tokens: ChallengeTokens = new ChallengeTokens();
  readonly #channel: WorkerChannel;
  readonly #sink: CertificateSink;
  readonly #log: Logger;

  constructor(channel: WorkerChannel, sink: CertificateSink, log: Logger) {
    this.#channel = channel;
    this.#sink = sink;
    this.#log = log;
    channel.handle(ACME_IPC.challenge, (payload) => this.#challenge(payload));
    channel.on(ACME_IPC.challenge, (payload) => this.#challenge(payload));
    channel.on(ACME_IPC.certificate, (payload) => void this.#certificate(payload));
  }

  http01(target: string): string | undefined {
    return this.tokens.http01(target);
  }

  /** Installs the stored certificate, if there is a valid one (the primary may not have started yet). */
  async loadStored(options: ResolvedAcmeOptions): Promise<boolean> {
    let stored: StoredCertificate | undefined;
    try {
      stored = await new AcmeStorage(options.storage, options.directoryUrl).certificate(options.domains);
    } catch (err) {
      this.#log.error({ err }, 'acme: cannot read the stored certificate; waiting for the primary');
      return false;
    }
    if (stored === undefined || stored.notAfter <= options.now()) return false;
    await this.#sink.install(options.domains, { cert: stored.cert, key: stored.key });
    return true;
  }

  /** Asks the primary for the pending challenges and the current certificate (once ready). */
  hello(): void {
    this.#channel.send(ACME_IPC.hello, null);
  }

  #challenge(payload: unknown): boolean {
    const m = payload as Partial<ChallengeMessage> | null;
    if (typeof m?.token !== 'string') return false;
    if (typeof m.keyAuthorization !== 'string') {
      this.tokens.delete(m.token);
      return true;
    }
    try {
      this.tokens.set(m.token, m.keyAuthorization);
      return true;
    } catch {
      return false; // not a token: nothing to answer
    }
  }

  async #certificate(payload: unknown): Promise<void> {
    const m = payload as Partial<CertificateMessage> | null;
    if (!Array.isArray(m?.names) || typeof m.cert !== 'string' || typeof m.key !== 'string') return;
    try {
      await this.#sink.install(m.names, { cert: m.cert, key: m.key });
    } catch (err) {
      this.#log.error(
        { err, names: m.names },
        'acme: the certificate from the primary could not be installed',
      );
    }
  }
}
