/**
 * The files an app loads, recorded by a module-load hook: what `strata serve --watch` watches
 * (the app's whole module graph, not only its entry), and the last file read when a syntax error
 * names none.
 */
import { registerHooks } from 'node:module';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files of the project loaded so far, in load order. */
export class ModuleGraph {
  readonly #roots: string[] = [];
  /** Every file: module loaded outside node_modules, whatever its directory. */
  readonly #loaded = new Set<string>();
  #last: string | undefined;
  #onFile: ((file: string) => void) | undefined;

  constructor(root: string) {
    this.addRoot(root);
  }

  /** Files under `dir` count as the project's too (the entry module's directory, say). */
  addRoot(dir: string): void {
    const root = dir.endsWith(sep) ? dir : dir + sep;
    if (!this.#roots.includes(root)) this.#roots.push(root);
  }

  /** Every project file loaded, outside node_modules, in load order. */
  get files(): string[] {
    return [...this.#loaded].filter((f) => this.#inProject(f));
  }

  /** The last file the loader read (any file: URL, the project's or not). */
  get lastLoaded(): string | undefined {
    return this.#last;
  }

  /** Called with each project file as it is first loaded. */
  onFile(listener: (file: string) => void): void {
    this.#onFile = listener;
  }

  record(url: string): void {
    if (!url.startsWith('file:')) return;
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch {
      return;
    }
    this.#last = path;
    if (path.includes(`${sep}node_modules${sep}`) || this.#loaded.has(path)) return;
    this.#loaded.add(path);
    if (this.#inProject(path)) this.#onFile?.(path);
  }

  #inProject(path: string): boolean {
    return this.#roots.some((root) => path.startsWith(root));
  }
}

let graph: ModuleGraph | undefined;

/**
 * Starts recording (once per process): every module loaded from then on, under `root`. The
 * hook runs in the loading thread and only looks at the URL, so it costs nothing per request.
 */
export function trackModules(root: string): ModuleGraph {
  if (graph !== undefined) return graph;
  const tracked = new ModuleGraph(root);
  graph = tracked;
  registerHooks({
    load(url, context, nextLoad) {
      tracked.record(url);
      return nextLoad(url, context);
    },
  });
  return tracked;
}

/** The graph being recorded in this process, if any. */
export function moduleGraph(): ModuleGraph | undefined {
  return graph;
}
