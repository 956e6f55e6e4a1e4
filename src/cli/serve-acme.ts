/**
 * `strata serve --acme`: who orders and who serves. One process: it orders and answers. Under
 * `--workers`: the primary orders (AcmeManager), the workers answer the challenges and install
 * the certificates it sends them (AcmeWorker); see src/server/acme/workers.ts.
 */
import type { Logger } from '../observe/logger.ts';
import type { WorkerChannel } from '../parallel/index.ts';
import type { Supervisor } from '../parallel/supervisor.ts';
import {
  type AcmeConfig,
  AcmeManager,
  AcmeWorker,
  type CertificateSink,
  resolveAcmeOptions,
  shareWithWorkers,
} from '../server/acme/index.ts';

/**
 * Where this process's ACME certificates go: the HTTPS listener's certificate store.
 *
 * Until the HTTPS listener (src/server/tls/) is wired here, the certificate is stored on disk
 * and logged; `serve` passes the store's `install` as the sink once it exists.
 */
export function acmeSink(log: Logger, store?: CertificateSink): CertificateSink {
  if (store !== undefined) return store;
  return {
    install(names) {
      log.info({ names }, 'acme: certificate ready (no HTTPS listener to install it in)');
    },
  };
}

/**
 * The HTTPS listener's certificate store, before and after it exists: the manager (or, in a
 * worker, the stored certificate) may deliver before `serve()` returns the store; those wait
 * here and are installed when the store attaches. Each delivery is logged.
 */
export class PendingCertificates implements CertificateSink {
  readonly #log: Logger;
  #store: CertificateSink | undefined = undefined;
  readonly #pending = new Map<string, [string[], { cert: string; key: string }]>();

  constructor(log: Logger) {
    this.#log = log;
  }

  install(names: string[], pem: { cert: string; key: string }): void {
    if (this.#store === undefined) {
      this.#pending.set(names.join(','), [names, pem]);
      return;
    }
    void this.#store.install(names, pem);
    this.#log.info({ names }, 'acme: certificate ready (installed in the HTTPS listener)');
  }

  /** The listener's store: what waited goes in now, the rest as it comes. */
  attach(store: CertificateSink): void {
    this.#store = store;
    for (const [names, pem] of this.#pending.values()) this.install(names, pem);
    this.#pending.clear();
  }
}

/** One process: the manager orders, and the listener answers from it. */
export function acmeInProcess(config: AcmeConfig, sink: CertificateSink, log: Logger): AcmeManager {
  return new AcmeManager(config, { sink, logger: log });
}

/** The primary of `--workers`: orders for every worker, once they are ready. */
export function acmeInPrimary(config: AcmeConfig, supervisor: Supervisor, log: Logger): AcmeManager {
  const { publisher, sink } = shareWithWorkers(supervisor, log);
  return new AcmeManager(config, { sink, publisher, logger: log });
}

/** A worker: installs the stored certificate before it listens, then takes what the primary sends. */
export async function acmeInWorker(
  config: AcmeConfig,
  channel: WorkerChannel,
  sink: CertificateSink,
  log: Logger,
): Promise<AcmeWorker> {
  const acme = new AcmeWorker(channel, sink, log);
  await acme.loadStored(resolveAcmeOptions(config));
  return acme;
}
