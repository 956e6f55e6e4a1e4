import { constants } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import { basename, dirname } from 'node:path';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { Logger } from '../../observe/logger.ts';
import { type CertificatePem, CertificateStore } from './certificate-store.ts';
import { type CertificateOptions, hstsValue, TLS_DEFAULTS, type TlsOptions } from './options.ts';
import { developmentCertificate, trustInstructions } from './self-signed.ts';
import { TicketKeys } from './ticket-keys.ts';

/** What the secureConnection listener of node:https is. */
type SecureListener = (this: HttpsServer, socket: TLSSocket) => void;

/**
 * A server's TLS, from its `tls` option: the certificates (`CertificateStore`), the node:https
 * options (versions, ciphers, groups, SNI, ALPN, no renegotiation), the ticket keys, the file
 * watch, and what HTTP adds over it (HSTS, the redirect listener). `serve()` makes it before the
 * server and attaches it once the fast lane holds the connection listener.
 */
export class TlsSetup {
  readonly certificates: CertificateStore;
  /** The `Strict-Transport-Security` value, or undefined. */
  readonly hsts: string | undefined;
  /** The redirect listener's address, when `redirectHttp` is set. */
  readonly redirect: { port: number; host: string | undefined } | undefined;
  readonly #options: TlsOptions;
  readonly #base: SecureContextOptions;
  readonly #tickets: TicketKeys;
  readonly #log: Logger;
  readonly #watchers: FSWatcher[] = [];
  #debounce: NodeJS.Timeout | undefined = undefined;
  #server: HttpsServer | undefined = undefined;

  private constructor(options: TlsOptions, log: Logger) {
    this.#options = options;
    this.#log = log;
    const minVersion = options.minVersion ?? TLS_DEFAULTS.minVersion;
    if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3')
      throw new TypeError(
        `serve(): tls.minVersion must be 'TLSv1.2' or 'TLSv1.3', got ${String(minVersion)}`,
      );
    this.#base = {
      minVersion,
      maxVersion: 'TLSv1.3',
      ciphers: options.ciphers ?? TLS_DEFAULTS.ciphers,
      ecdhCurve: options.ecdhCurve ?? TLS_DEFAULTS.ecdhCurve,
      // Mozilla "intermediate": the client's order (it knows whether it has AES hardware).
      honorCipherOrder: false,
      // RFC 5746 renegotiation is refused outright: TLS 1.2's client-initiated renegotiation is
      // a CPU-exhaustion lever (and TLS 1.3 has none).
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      sessionTimeout: options.sessionTimeout ?? TLS_DEFAULTS.sessionTimeout,
    };
    this.certificates = new CertificateStore(this.#base);
    this.hsts = hstsValue(options.hsts);
    const redirect = options.redirectHttp;
    this.redirect =
      redirect === undefined
        ? undefined
        : typeof redirect === 'number'
          ? { port: redirect, host: undefined }
          : { port: redirect.port, host: redirect.host };
    if (this.redirect !== undefined && !(Number.isInteger(this.redirect.port) && this.redirect.port <= 65535))
      throw new TypeError(`serve(): tls.redirectHttp must be a port, got ${String(this.redirect.port)}`);
    this.#tickets = new TicketKeys(
      options.ticketSecret,
      options.ticketRotation ?? TLS_DEFAULTS.ticketRotation,
    );
  }

  /** Loads the certificates (a development one made or read from the cache for `selfSigned`). */
  static async prepare(options: TlsOptions, log: Logger): Promise<TlsSetup> {
    const setup = new TlsSetup(options, log);
    const sources: CertificateOptions[] = [];
    if (options.cert !== undefined || options.key !== undefined) {
      if (options.cert === undefined || options.key === undefined)
        throw new TypeError('serve(): tls needs both cert and key');
      sources.push({
        cert: options.cert,
        key: options.key,
        ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
        ...(options.names === undefined ? {} : { names: options.names }),
      });
    }
    sources.push(...(options.certificates ?? []));
    if (sources.length === 0 && options.selfSigned === true) {
      const dev = await developmentCertificate();
      if (dev.created) process.stderr.write(trustInstructions(dev.certFile));
      log.info({ cert: dev.certFile, created: dev.created }, 'HTTPS with the development certificate');
      sources.push({ cert: dev.certFile, key: dev.keyFile });
    }
    if (sources.length === 0)
      log.warn('tls: no certificate yet: handshakes fail until one is installed (CertificateStore.install)');
    setup.certificates.load(sources, options.default);
    return setup;
  }

  /** node:https's TLS options (merged over the HTTP ones by serve()). */
  serverOptions(): HttpsServerOptions {
    return {
      ...this.#base,
      ...this.#defaultPem(),
      SNICallback: this.certificates.sniCallback,
      handshakeTimeout: this.#options.handshakeTimeout ?? TLS_DEFAULTS.handshakeTimeout,
      ALPNProtocols: this.#options.alpn?.h2 === undefined ? ['http/1.1'] : ['h2', 'http/1.1'],
    };
  }

  /**
   * Takes over the running parts on `server`: the ticket keys, the default certificate (its
   * context follows the store), the files' watch, and ALPN's h2 sockets. Call after the fast
   * lane took the `secureConnection` listener, before the connection guard adds its own.
   */
  attach(server: HttpsServer): void {
    this.#server = server;
    this.#tickets.start(server);
    this.certificates.onDefaultChange = (pem) => {
      server.setSecureContext({ ...this.#base, ...pem });
      // setSecureContext makes a new context, with new ticket keys: the shared ones again.
      server.setTicketKeys(this.#tickets.keyAt(Date.now()));
    };
    const h2 = this.#options.alpn?.h2;
    if (h2 !== undefined) routeAlpn(server, h2);
    if (this.#options.watch ?? TLS_DEFAULTS.watch) this.#watch();
  }

  /**
   * Reads the certificate files again and swaps them in (SIGHUP, a file change). True on
   * success; on failure the old certificates stay, and the error is logged.
   */
  reload(reason: string): boolean {
    try {
      this.certificates.reload();
      this.#log.info({ reason, certificates: this.certificates.list().length }, 'tls: certificates reloaded');
      return true;
    } catch (err) {
      this.#log.warn({ reason, err }, 'tls: reload failed, keeping the certificates in use');
      return false;
    }
  }

  close(): void {
    this.#tickets.stop();
    clearTimeout(this.#debounce);
    for (const watcher of this.#watchers) watcher.close();
    this.#watchers.length = 0;
  }

  #defaultPem(): Partial<CertificatePem> {
    const pem = this.certificates.defaultPem;
    return pem === undefined ? {} : { ...pem };
  }

  /**
   * Watches the directories of the certificate files (certbot and editors replace a file by
   * renaming another over it, which a watch on the file itself would miss), and reloads once the
   * events have settled.
   */
  #watch(): void {
    const byDir = new Map<string, Set<string>>();
    for (const file of this.certificates.files()) {
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, (_event, name) => {
          if (name !== null && !names.has(name.toString())) return;
          clearTimeout(this.#debounce);
          this.#debounce = setTimeout(() => {
            if (this.#server !== undefined) this.reload('file changed');
          }, TLS_DEFAULTS.watchDebounce);
          this.#debounce.unref();
        });
        watcher.on('error', (err) => this.#log.warn({ err, dir }, 'tls: watching certificates failed'));
        watcher.unref();
        this.#watchers.push(watcher);
      } catch (err) {
        this.#log.warn({ err, dir }, 'tls: cannot watch the certificate directory (reload with SIGHUP)');
      }
    }
  }
}

/**
 * ALPN: a socket whose client chose `h2` goes to the HTTP/2 server; every other one to HTTP/1.1
 * (the fast lane, or node's listener) as before.
 */
function routeAlpn(server: HttpsServer, h2: (socket: TLSSocket) => void): void {
  const listeners = server.listeners('secureConnection') as SecureListener[];
  if (listeners.length !== 1) throw new Error('tls: ALPN routing must wrap the one HTTP/1.1 listener');
  const http1 = listeners[0]!;
  server.off('secureConnection', http1);
  server.on('secureConnection', function route(this: HttpsServer, socket: TLSSocket) {
    if (socket.alpnProtocol === 'h2') h2(socket);
    else http1.call(this, socket);
  });
}
