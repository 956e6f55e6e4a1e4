/**
 * `strata-stack/proxy`: the reverse proxy's framework handler and its upstream groups.
 *
 * @example
 * import { proxy, UpstreamGroup } from 'strata-stack/proxy';
 * app.all('/api/*', proxy(new UpstreamGroup({ upstreams: ['http://127.0.0.1:8080'] })));
 */
export {
  type ActiveHealthOptions,
  type BalanceAlgorithm,
  BalanceError,
  type BreakerOptions,
  type ExpectedStatus,
  type HealthProbe,
  IDEMPOTENT_METHODS,
  type Outcome,
  type PassiveHealthOptions,
  type PickContext,
  type ProbeResult,
  RETRY_ON_DEFAULT,
  type StateListener,
  UPSTREAM_DEFAULTS,
  type Upstream,
  UpstreamGroup,
  type UpstreamGroupOptions,
  type UpstreamSnapshot,
  type UpstreamSpec,
  type UpstreamState,
} from './balance/index.ts';
export { type ProxyCallContext, type ProxyHandler, type ProxyHandlerOptions, proxy } from './handler.ts';
export {
  PROXY_DEFAULTS,
  type ProxyGroupOption,
  type ProxyOptions,
  type ProxyRouteOptions,
} from './options.ts';
