/** `strata/parallel`: the thread pool for CPU work and the event-loop monitor. */

export {
  LOOP_MONITOR_DEFAULTS,
  type LoopHealth,
  LoopMonitor,
  type LoopMonitorOptions,
  type PressureLimits,
} from './loop-monitor.ts';
export {
  POOL_DEFAULTS,
  type PoolStats,
  type RunOptions,
  type TaskModule,
  ThreadPool,
  type ThreadPoolOptions,
} from './pool.ts';
export { PoolError } from './pool-error.ts';
