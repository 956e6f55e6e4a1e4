/**
 * `strata serve --watch`: the dev loop. A one-worker supervisor (cluster mode: the primary holds
 * the listening socket, so no connection is refused while workers change) is sent a rolling
 * reload when a file of the app's module graph changes. The worker reports the files it loads
 * (module-graph.ts); the primary watches their directories, debounces a burst of changes into
 * one reload, and a change that does not load leaves the running worker serving.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createLogger } from '../observe/index.ts';
import { type SUPERVISOR_DEFAULTS, Supervisor, SupervisorStartupFailure } from '../parallel/index.ts';
import { relayCluster } from '../realtime/index.ts';
import type { ModuleGraph } from './module-graph.ts';
import { stopWhenOrphaned } from './orphan.ts';

/** The channel message a watched worker sends with the files it loaded. */
export const WATCH_FILES = 'strata.watch.files';

/** Quiet time after a change before the reload: an editor's or a formatter's burst is one change. */
export const WATCH_DEBOUNCE_MS = 100;

/** A draining worker's budget under --watch, unless --graceful-timeout says otherwise. */
const WATCH_GRACEFUL_S = 5;

/**
 * Watches a set of files through their directories (an editor that saves by renaming a new file
 * over the old one replaces the inode a file watch would follow), and calls `onChange` once per
 * burst, with the files that changed.
 */
export class FileSet {
  readonly #files = new Set<string>();
  readonly #dirs = new Map<string, FSWatcher>();
  readonly #changed = new Set<string>();
  readonly #onChange: (changed: string[]) => void;
  readonly #debounceMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(onChange: (changed: string[]) => void, debounceMs = WATCH_DEBOUNCE_MS) {
    this.#onChange = onChange;
    this.#debounceMs = debounceMs;
  }

  get size(): number {
    return this.#files.size;
  }

  add(file: string): void {
    const path = resolve(file);
    if (this.#files.has(path)) return;
    this.#files.add(path);
    const dir = dirname(path);
    if (this.#dirs.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        // No name (some platforms): any watched file of the directory may have changed.
        const candidates =
          name === null ? [...this.#files].filter((f) => dirname(f) === dir) : [join(dir, name.toString())];
        for (const changed of candidates) if (this.#files.has(changed)) this.#touch(changed);
      });
      watcher.on('error', () => this.#dirs.delete(dir));
      this.#dirs.set(dir, watcher);
    } catch {
      // A directory that vanished or cannot be watched: its files are not watched.
    }
  }

  #touch(file: string): void {
    this.#changed.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const changed = [...this.#changed];
      this.#changed.clear();
      this.#onChange(changed);
    }, this.#debounceMs);
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const watcher of this.#dirs.values()) watcher.close();
    this.#dirs.clear();
  }
}

/** A watched worker's side: sends the files it loads to the primary. */
export class WatchReporter {
  readonly #graph: ModuleGraph;
  readonly #sent = new Set<string>();
  #scheduled = false;

  constructor(graph: ModuleGraph) {
    this.#graph = graph;
    // Modules imported later (a lazy import in a handler) are watched from then on.
    graph.onFile(() => this.#schedule());
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Sends the files not sent yet; resolves once node has written the message (before an exit). */
  flush(): Promise<void> {
    this.#scheduled = false;
    const files = this.#graph.files.filter((f) => !this.#sent.has(f));
    if (files.length === 0 || process.send === undefined || !process.connected) return Promise.resolve();
    for (const f of files) this.#sent.add(f);
    return new Promise((done) => {
      try {
        process.send!({ type: 'strata:msg', name: WATCH_FILES, payload: files }, undefined, {}, () => done());
      } catch {
        done();
      }
    });
  }
}

/** What the watch loop needs of `strata serve`'s flags. */
export interface WatchFlags {
  module: string;
  port: number;
  host: string;
  redis?: string | undefined;
  configPath: string | undefined;
  workers: number | 'auto' | undefined;
  settings: Partial<Record<keyof typeof SUPERVISOR_DEFAULTS, number>>;
}

/** The primary of `strata serve --watch`: runs until SIGTERM/SIGINT. */
export async function runWatch(flags: WatchFlags, args: string[]): Promise<void> {
  const cwd = process.cwd();
  const entry = resolve(cwd, flags.module);
  const log = createLogger();
  // The supervisor's own steps (worker started, ready, draining…) are noise in a dev loop; its
  // warnings and errors (a worker that crashed, a replacement that did not start) are not.
  const supervisorLog = createLogger({ level: 'warn' });
  const shown = (file: string): string => {
    const rel = relative(cwd, file);
    return rel.startsWith('..') ? file : rel;
  };
  let current: Supervisor | undefined;
  let port = flags.port;
  let starting: Promise<void> | undefined;
  let stopping = false;

  const files = new FileSet((changed) => {
    if (stopping) return;
    const names = changed.map(shown);
    if (current === undefined) {
      log.info({ changed: names }, 'watch: changed, starting again');
      void start();
      return;
    }
    void reload(current, names);
  });
  files.add(entry);
  if (flags.configPath !== undefined) files.add(flags.configPath);

  const make = (): Supervisor => {
    const supervisor = new Supervisor({
      exec: process.argv[1]!,
      args: ['serve', ...args],
      workers: flags.workers ?? 1,
      // Cluster mode: the primary owns the listening socket, so it keeps accepting while the
      // old worker drains and the new one starts; reusePort can reset a closing worker's queue.
      mode: 'cluster',
      port,
      host: flags.host,
      logger: supervisorLog,
      gracefulTimeout: WATCH_GRACEFUL_S,
      ...flags.settings,
      // A first start that fails waits for the next save instead of retrying the same code.
      maxStartupFailures: 1,
    });
    supervisor.on(WATCH_FILES, (payload) => {
      if (!Array.isArray(payload)) return;
      for (const file of payload) if (typeof file === 'string') files.add(file);
    });
    if (flags.redis === undefined) relayCluster(supervisor);
    return supervisor;
  };

  const start = (): Promise<void> => {
    starting ??= (async () => {
      const supervisor = make();
      try {
        await supervisor.start();
      } catch (err) {
        if (!(err instanceof SupervisorStartupFailure)) throw err;
        await supervisor.close();
        log.warn(
          { watching: files.size },
          `watch: ${basename(entry)} did not start (the error is above); waiting for a change`,
        );
        return;
      } finally {
        starting = undefined;
      }
      if (stopping) {
        await supervisor.close();
        return;
      }
      current = supervisor;
      // Port 0: the first start picked one; a start after a failure keeps it.
      port = supervisor.port;
      log.info(
        {
          url: `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}`,
          watching: files.size,
        },
        'watch: serving; restarting on a change to the app’s modules or the config',
      );
      void supervisor.done.then(() => {
        if (current === supervisor) current = undefined;
      });
    })();
    return starting;
  };

  const reload = async (supervisor: Supervisor, changed: string[]): Promise<void> => {
    const before = new Set(supervisor.workers().map((w) => w.id));
    await supervisor.reload();
    if (stopping) return;
    const stale = supervisor.workers().some((w) => before.has(w.id) && w.state === 'ready');
    if (stale)
      log.warn(
        { changed },
        'watch: the change did not load (the error is above); still serving the previous version',
      );
    else log.info({ changed }, 'watch: restarted');
  };

  let signals = 0;
  const stop = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`strata: ${signal} again, killing the worker without waiting\n`);
      current?.kill();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    files.close();
    void Promise.all([current?.close(), starting]).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => current !== undefined && void reload(current, []));
  stopWhenOrphaned(() => stop('parent exited'));
  // Keeps the primary alive while no worker runs (after a failed first start).
  setInterval(() => {}, 2 ** 30);
  await start();
}
