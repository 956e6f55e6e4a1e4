export {
  DASHBOARD_CSP,
  DashboardServer,
  type DashboardServerOptions,
  type DashboardSource,
  processDashboardInput,
} from './dashboard.ts';
export {
  DashboardFeed,
  type DashboardInput,
  type DashboardSnapshot,
  type MetricJson,
  type Percentiles,
  type ProcessSample,
  pidOf,
  quantile,
  type WorkerRow,
} from './snapshot.ts';
