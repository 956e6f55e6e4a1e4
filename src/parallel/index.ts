/** `strata/parallel`: the process supervisor and its worker side. */
export { RestartBackoff } from './backoff.ts';
export { type WorkerChannel, workerChannel } from './ipc.ts';
export {
  defaultMode,
  kernelMigratesConnections,
  SUPERVISOR_DEFAULTS,
  type SupervisorMode,
} from './options.ts';
export {
  Supervisor,
  type SupervisorExit,
  type SupervisorOptions,
  SupervisorStartupFailure,
  type WorkerInfo,
} from './supervisor.ts';
export { type SupervisedWorker, supervisedWorker } from './worker-runtime.ts';
