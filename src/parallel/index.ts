/** `strata-stack/parallel`: the process supervisor and its worker side, the thread pool, the event-loop monitor. */
export { RestartBackoff } from './backoff.ts';
export { type WorkerChannel, workerChannel } from './ipc.ts';
export {
  LOOP_MONITOR_DEFAULTS,
  type LoopHealth,
  LoopMonitor,
  type LoopMonitorOptions,
  type PressureLimits,
} from './loop-monitor.ts';
export {
  defaultMode,
  kernelMigratesConnections,
  SUPERVISOR_DEFAULTS,
  type SupervisorMode,
} from './options.ts';
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
export { METRICS_ASK, SupervisorMetrics } from './supervisor-metrics.ts';
export { type SupervisedWorker, supervisedWorker } from './worker-runtime.ts';
