/**
 * `strata-stack/parallel`: the process supervisor, the workers' IPC channel, the thread pool, the
 * event-loop monitor. The wiring between the supervisor and `strata serve`'s workers (the worker
 * runtime, the metrics exchange, the restart backoff, the mode default) is internal: the CLI
 * imports it from its files.
 */
export { type WorkerChannel, workerChannel } from './ipc.ts';
export {
  LOOP_MONITOR_DEFAULTS,
  type LoopHealth,
  LoopMonitor,
  type LoopMonitorOptions,
  type PressureLimits,
} from './loop-monitor.ts';
export { SUPERVISOR_DEFAULTS, type SupervisorMode } from './options.ts';
export {
  POOL_DEFAULTS,
  type PoolStats,
  type RunOptions,
  type TaskModule,
  ThreadPool,
  type ThreadPoolOptions,
} from './pool.ts';
export { PoolError } from './pool-error.ts';
export {
  Supervisor,
  type SupervisorExit,
  type SupervisorOptions,
  SupervisorStartupFailure,
  type WorkerInfo,
} from './supervisor.ts';
