/** `strata-stack/observe`: logging and Prometheus metrics. */
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  aggregateMetrics,
  DEFAULT_BUCKETS,
  METRICS_CONTENT_TYPE,
  Metrics,
  type MetricsOptions,
  type PoolGaugeSource,
  trackPool,
  trackUpstreams,
  trackWebSockets,
  type UpstreamGaugeRow,
  type UpstreamGaugeSource,
  type WebSocketGaugeSource,
} from './metrics.ts';
