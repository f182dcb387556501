export { Metrics, OTHER_PREFIX, sumByPrefix } from './metrics';
export type { ByPrefix, CountedError, DisconnectKind, MeteredSession, StompBrokerStats } from './metrics';
export { collectPrometheusMetrics } from './prometheus';
export type { PromClientLike, PromMetricConfig, PromMetricLike, PromRegistryLike, PrometheusCollectors, PrometheusOptions } from './prometheus';
