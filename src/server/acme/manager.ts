import type { SecureContext } from 'node:tls';
import { createLogger, type Logger } from '../../observe/logger.ts';
import { boundCaRequests, loadAcmeClient } from './ca-requests.ts';
import { ChallengeTokens, type Http01Answers } from './challenges.ts';
import { AcmeError } from './errors.ts';
import { type AcmeOptions, type ResolvedAcmeOptions, resolveAcmeOptions } from './options.ts';
import { RetryBackoff, renewalTime } from './renewal.ts';
import type { CertificateSink, ChallengePublisher } from './sink.ts';
import { AcmeStorage, inspectCertificate, type StoredCertificate } from './storage.ts';
import { type AlpnAnswers, AlpnChallenges } from './tls-alpn.ts';

/**
 * The longest single timer: a renewal months away is re-checked daily (a suspended laptop or a
 * clock step is noticed within a day; setTimeout also cannot wait more than 2^31-1 ms).
 */
const MAX_TIMER = 86_400_000;

/** What one `check()` did. */
export type AcmeCheck =
  | { kind: 'valid'; certificate: StoredCertificate; renewAt: number }
  | { kind: 'issued'; certificate: StoredCertificate; renewAt: number }
  | { kind: 'failed'; error: Error; retryIn: number }
  | { kind: 'closed' };

/** The parts an `AcmeManager` works with. */
export interface AcmeManagerParts {
  /** Where certificates go (the HTTPS listener's store). */
  sink: CertificateSink;
  /** Where challenges go: default this manager's own `ChallengeTokens` only. */
  publisher?: ChallengePublisher;
  logger?: Logger;
}

/**
 * Gets and keeps a certificate for a set of names from an ACME CA (RFC 8555), answering the
 * HTTP-01 challenges itself: the HTTP listener asks `http01(target)` before anything else.
 *
 * `start()` installs the stored certificate when it is still valid (no order at all on a
 * restart), and orders one when there is none or it is due for renewal. Renewal runs on an
 * unref'd timer; a failed order is retried with bounded, jittered exponential backoff; `close()`
 * cancels every timer.
 *
 * @example
 * const manager = new AcmeManager(
 *   { domains: ['example.com'], email: 'ops@example.com', agreeToTerms: true },
 *   { sink: certificateStore },
 * );
 * await serve(app, { port: 80, acmeChallenges: manager });
 * await manager.start();
 */
export class AcmeManager implements Http01Answers, AlpnAnswers {
  /** This process's pending HTTP-01 challenges. */
  readonly challenges: ChallengeTokens = new ChallengeTokens();
  /** This process's pending TLS-ALPN-01 challenges (with `challenge: 'tls-alpn-01'`). */
  readonly alpn: AlpnChallenges = new AlpnChallenges();
  readonly options: ResolvedAcmeOptions;
  readonly storage: AcmeStorage;
  readonly #sink: CertificateSink;
  readonly #publisher: ChallengePublisher;
  readonly #log: Logger;
  readonly #backoff: RetryBackoff;
  #current: StoredCertificate | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #running: Promise<AcmeCheck> | undefined = undefined;
  #closed = false;
  #orders = 0;
  #nextCheckAt: number | undefined = undefined;

  constructor(options: AcmeOptions, parts: AcmeManagerParts) {
    this.options = resolveAcmeOptions(options);
    if (!this.options.agreeToTerms)
      throw new AcmeError(
        'STRATA_ERR_ACME_CONFIG',
        `acme: the CA's terms of service must be agreed to before strata can open an account: read them (linked from ${this.options.directoryUrl}), then set acme.agreeToTerms: true or pass --acme-agree-tos`,
      );
    if (this.options.challenge === 'tls-alpn-01' && parts.publisher !== undefined)
      throw new AcmeError(
        'STRATA_ERR_ACME_CONFIG',
        'acme: tls-alpn-01 is answered in one process only for now; use http-01 under --workers',
      );
    this.storage = new AcmeStorage(this.options.storage, this.options.directoryUrl);
    this.#sink = parts.sink;
    this.#publisher = parts.publisher ?? localPublisher(this.challenges);
    this.#log = parts.logger ?? createLogger();
    this.#backoff = new RetryBackoff(this.options.retryMin, this.options.retryMax, this.options.random);
    boundCaRequests(this.options.directoryUrl, this.options);
  }

  http01(target: string): string | undefined {
    return this.challenges.http01(target);
  }

  get alpnPending(): boolean {
    return this.alpn.alpnPending;
  }

  alpnContext(servername: string): SecureContext | undefined {
    return this.alpn.alpnContext(servername);
  }

  /** The certificate in use, if any. */
  get current(): StoredCertificate | undefined {
    return this.#current;
  }

  /** Orders placed by this manager (successful or not). */
  get orders(): number {
    return this.#orders;
  }

  /** Failed orders in a row. */
  get failures(): number {
    return this.#backoff.failures;
  }

  /** When the timer will check again (ms since the epoch), if one is set. */
  get nextCheckAt(): number | undefined {
    return this.#nextCheckAt;
  }

  /**
   * Loads the stored certificate (installing it if still valid), then runs the first check: an
   * order now if there is no valid certificate or it is due. Resolves with what that check did
   * (a failure is not thrown: it is retried on the timer).
   */
  async start(): Promise<AcmeCheck> {
    let stored: StoredCertificate | undefined;
    try {
      stored = await this.storage.certificate(this.options.domains);
    } catch (err) {
      // An unreadable storage is the order's problem too: logged there, retried with backoff.
      this.#log.error({ err, storage: this.storage.dir }, 'acme: cannot read the stored certificate');
    }
    if (stored !== undefined && stored.notAfter > this.options.now()) {
      this.#current = stored;
      await this.#sink.install(this.options.domains, { cert: stored.cert, key: stored.key });
      this.#log.info(
        { domains: this.options.domains, notAfter: new Date(stored.notAfter).toISOString() },
        'acme: using the stored certificate',
      );
    }
    return this.check();
  }

  /** Orders a certificate now if none is valid or it is due for renewal; one check at a time. */
  check(): Promise<AcmeCheck> {
    if (this.#closed) return Promise.resolve({ kind: 'closed' });
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Cancels the timer; an order under way finishes but schedules nothing. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
  }

  async #check(): Promise<AcmeCheck> {
    this.#clearTimer();
    const current = this.#current;
    if (current !== undefined) {
      const renewAt = renewalTime(current.notBefore, current.notAfter, this.options.renewBefore);
      if (this.options.now() < renewAt) {
        this.#schedule(renewAt - this.options.now());
        return { kind: 'valid', certificate: current, renewAt };
      }
    }
    try {
      const issued = await this.#order();
      this.#backoff.reset();
      this.#current = issued;
      await this.storage.saveCertificate(this.options.domains, issued);
      await this.#sink.install(this.options.domains, { cert: issued.cert, key: issued.key });
      const renewAt = renewalTime(issued.notBefore, issued.notAfter, this.options.renewBefore);
      this.#log.info(
        { domains: this.options.domains, notAfter: new Date(issued.notAfter).toISOString() },
        'acme: certificate issued',
      );
      this.#schedule(renewAt - this.options.now());
      return { kind: 'issued', certificate: issued, renewAt };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const retryIn = this.#backoff.next();
      this.#log.warn(
        {
          err: error,
          domains: this.options.domains,
          failures: this.#backoff.failures,
          retryInSeconds: Math.round(retryIn / 1000),
          // Still serving the old certificate, if there is one.
          serving: this.#current === undefined ? null : new Date(this.#current.notAfter).toISOString(),
        },
        'acme: order failed, retrying later',
      );
      this.#schedule(retryIn);
      return { kind: 'failed', error, retryIn };
    }
  }

  async #order(): Promise<StoredCertificate> {
    this.#orders += 1;
    const o = this.options;
    const acme = await loadAcmeClient();
    let accountKey = await this.storage.accountKey();
    if (accountKey === undefined) {
      accountKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
      await this.storage.saveAccountKey(accountKey);
    }
    const accountUrl = await this.storage.accountUrl();
    const client = new acme.Client({
      directoryUrl: o.directoryUrl,
      accountKey,
      ...(accountUrl === undefined ? {} : { accountUrl }),
      // Polling of the order and authorizations: bounded (about a minute and a half in all).
      backoffAttempts: 10,
      backoffMin: 500,
      backoffMax: 15_000,
    });
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: o.domains[0]!, altNames: o.domains }, key);
    const publisher = this.#publisher;
    const alpn = this.alpn;
    const chain = await client.auto({
      csr,
      ...(o.email === undefined ? {} : { email: o.email }),
      termsOfServiceAgreed: o.agreeToTerms,
      challengePriority: [o.challenge],
      // acme-client's self-check fetches http://<domain>/ from here: behind NAT or split DNS
      // it fails where the CA would succeed. The CA's own validation is the check.
      skipChallengeVerification: true,
      // (acme-client's types list http-01 and dns-01 only; its crypto makes tls-alpn-01 certificates.)
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        const type: string = challenge.type;
        if (type === 'http-01') await publisher.add(challenge.token, keyAuthorization);
        else if (type === 'tls-alpn-01') {
          // RFC 8737 §3: a self-signed certificate for the name with the acmeIdentifier extension.
          const [key, cert] = await acme.crypto.createAlpnCertificate(
            authz,
            keyAuthorization,
            await acme.crypto.createPrivateEcdsaKey('P-256'),
          );
          alpn.set(authz.identifier.value, { cert: cert.toString(), key: key.toString() });
        } else throw new AcmeError('STRATA_ERR_ACME_ORDER', `acme: cannot answer a ${type} challenge`);
      },
      challengeRemoveFn: async (authz, challenge) => {
        const type: string = challenge.type;
        if (type === 'http-01') await publisher.remove(challenge.token);
        else if (type === 'tls-alpn-01') alpn.delete(authz.identifier.value);
      },
    });
    if (accountUrl === undefined) await this.storage.saveAccountUrl(client.getAccountUrl());
    const issued = inspectCertificate({ cert: chain, key: key.toString() }, [...o.domains].sort());
    if (issued === undefined)
      throw new AcmeError(
        'STRATA_ERR_ACME_ORDER',
        'acme: the CA sent a certificate that does not match its key',
      );
    return issued;
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    this.#clearTimer();
    const wait = Math.max(0, Math.min(delay, MAX_TIMER));
    this.#nextCheckAt = this.options.now() + wait;
    this.#timer = setTimeout(() => void this.check(), wait);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextCheckAt = undefined;
  }
}

/** Challenges answered by this process alone. */
export function localPublisher(tokens: ChallengeTokens): ChallengePublisher {
  return {
    add: async (token, keyAuthorization) => tokens.set(token, keyAuthorization),
    remove: async (token) => tokens.delete(token),
  };
}
