/**
 * `npm start` runs the server as npm → sh → node. npm passes SIGTERM and SIGINT on to its child,
 * the shell, and the shell (dash, at least) dies of it without passing it on: node was left
 * serving on the port, its parent gone. So a server started by an npm script watches its parent
 * and stops gracefully when it is gone, whatever the shell does with the signal.
 */

/** The parent at startup: a parent lost while the app was loading counts too. */
const STARTED_UNDER = process.ppid;

/** How often the parent is checked: reading getppid() costs nothing; the port frees within it. */
export const ORPHAN_CHECK_MS = 500;

/**
 * Calls `stop` once if this process's parent exits (it is re-parented: its parent pid changes).
 * Only under an npm script (`npm_lifecycle_event` is set): a server started with `nohup` or `&`
 * from a shell that then exits is meant to keep running.
 */
export function stopWhenOrphaned(stop: () => void, env: NodeJS.ProcessEnv = process.env): void {
  if (env.npm_lifecycle_event === undefined || env.STRATA_WORKER_ID !== undefined) return;
  const timer = setInterval(() => {
    if (process.ppid === STARTED_UNDER) return;
    clearInterval(timer);
    stop();
  }, ORPHAN_CHECK_MS);
  timer.unref();
}
