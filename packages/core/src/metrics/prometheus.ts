/**
 * Prometheus collectors over `broker.stats()`, for prom-client (an optional peer dependency: core
 * never loads it unless this function is called without `client`).
 *
 * Nothing is updated per message: every metric has a `collect()` callback that prom-client runs
 * at scrape time, and all of them read one `broker.stats()` snapshot per scrape (prom-client calls
 * the callbacks in one synchronous pass; the snapshot is dropped on the next macrotask).
 * Counters are re-set from the broker's totals on each scrape (`reset()` then `inc(total)`), so the
 * exposition always equals `stats()`.
 *
 * Labels have bounded cardinality: destination prefix groups come from configuration, error codes
 * from ERROR_CODES, limit names from the Limits options, versions and close reasons are fixed
 * sets. Per-destination numbers (queue depths) are left to `stats()` and the inspector.
 */
import type { StompBroker } from '../stomp-broker';
import type { StompBrokerStats } from './metrics';

/** The prom-client registry API used here (prom-client's `Registry` fits). */
export interface PromRegistryLike {
  removeSingleMetric(name: string): void;
}

/** The part of a prom-client Gauge/Counter that collect() callbacks use (`set` on gauges, `inc` on counters). */
export interface PromMetricLike {
  reset(): void;
  set?(labels: Record<string, string>, value: number): void;
  inc?(labels: Record<string, string>, value: number): void;
}

export interface PromMetricConfig {
  name: string;
  help: string;
  labelNames?: string[];
  registers?: PromRegistryLike[];
  collect?: (this: PromMetricLike) => void;
}

/**
 * The prom-client module, or anything with the same Gauge, Counter and default `register`. The
 * constructors are called with a {@link PromMetricConfig}; they are typed loosely so that
 * prom-client's own (stricter) declarations fit without core depending on them.
 */
export interface PromClientLike {
  Gauge: new (config: never) => unknown;
  Counter: new (config: never) => unknown;
  register: PromRegistryLike;
}

type MetricConstructor = new (config: PromMetricConfig) => unknown;

export interface PrometheusOptions {
  /** The prom-client module (`import * as client from 'prom-client'`). Default: `require('prom-client')`, with a clear error when it is not installed. */
  client?: PromClientLike;
  /** Registry to register the metrics in. Default: prom-client's global `register`. */
  register?: PromRegistryLike;
  /** Prefix of every metric name. Default 'stompkit_'. */
  prefix?: string;
}

export interface PrometheusCollectors {
  /** Names of the registered metrics. */
  readonly names: readonly string[];
  /** Removes them from the registry again. */
  unregister(): void;
}

type Kind = 'gauge' | 'counter';

interface Definition {
  name: string;
  kind: Kind;
  help: string;
  label?: string;
  /** A single value, or values by label value. */
  read(stats: StompBrokerStats): number | Record<string, number | undefined>;
  /** Registered only when the broker is a relay (stats().relay exists). */
  relay?: boolean;
}

const DEFINITIONS: readonly Definition[] = [
  { name: 'connections', kind: 'gauge', help: 'Open WebSocket connections', read: (s) => s.connections },
  { name: 'connections_opened_total', kind: 'counter', help: 'WebSocket connections accepted', read: (s) => s.connectionsOpened },
  { name: 'sessions_connected_total', kind: 'counter', help: 'Sessions that completed CONNECT', read: (s) => s.sessionsConnected },
  { name: 'sessions', kind: 'gauge', help: 'Live STOMP sessions (connected or awaiting CONNECT)', read: (s) => s.sessions },
  { name: 'sessions_by_version', kind: 'gauge', help: 'Connected STOMP sessions by negotiated protocol version', label: 'version', read: (s) => s.sessionsByVersion },
  { name: 'subscriptions', kind: 'gauge', help: 'Subscriptions registered in the message broker', read: (s) => s.subscriptions },
  { name: 'destinations', kind: 'gauge', help: 'Destinations with subscribers or held messages', read: (s) => s.destinations },
  { name: 'queued_messages', kind: 'gauge', help: 'Messages held in queues, waiting for a consumer', read: (s) => sum(s.queueDepths) },
  { name: 'unacked_messages', kind: 'gauge', help: 'Deliveries awaiting ACK', read: (s) => s.unacked },
  { name: 'messages_in_total', kind: 'counter', help: 'Client SEND frames applied (refused ones included), by destination prefix', label: 'prefix', read: (s) => s.messagesIn },
  { name: 'bytes_in_total', kind: 'counter', help: 'Body bytes of client SEND frames, by destination prefix', label: 'prefix', read: (s) => s.bytesIn },
  { name: 'messages_out_total', kind: 'counter', help: 'MESSAGE frames sent to clients, by destination prefix', label: 'prefix', read: (s) => s.messagesOut },
  { name: 'bytes_out_total', kind: 'counter', help: 'Bytes of MESSAGE frames sent to clients, by destination prefix', label: 'prefix', read: (s) => s.bytesOut },
  { name: 'published_total', kind: 'counter', help: 'Messages accepted by the message broker', read: (s) => s.published },
  { name: 'delivered_total', kind: 'counter', help: 'Deliveries by the message broker (redeliveries included)', read: (s) => s.delivered },
  { name: 'dropped_total', kind: 'counter', help: 'Messages dropped: by the broker (queue overflow) or a slow consumer (drop-oldest)', label: 'source', read: (s) => ({ broker: s.droppedBy.broker, 'slow-consumer': s.droppedBy.slowConsumer }) },
  { name: 'redelivered_total', kind: 'counter', help: 'Queue messages delivered again (NACK, consumer gone)', read: (s) => s.redelivered },
  { name: 'dead_lettered_total', kind: 'counter', help: 'Queue messages moved to a dead-letter destination', read: (s) => s.deadLettered },
  { name: 'errors_total', kind: 'counter', help: 'Errors reported to clients, by code', label: 'code', read: (s) => s.errorsByCode },
  { name: 'limits_exceeded_total', kind: 'counter', help: 'Exceeded limits, by limit name', label: 'limit', read: (s) => s.limitsExceeded },
  { name: 'outbound_buffered_bytes', kind: 'gauge', help: 'Bytes written to client sockets and not yet flushed, plus session backlogs', read: (s) => s.outboundBufferedBytes },
  { name: 'heartbeat_timeouts_total', kind: 'counter', help: 'Sessions dropped because the client stopped sending heart-beats', read: (s) => s.heartbeatTimeouts },
  { name: 'disconnects_total', kind: 'counter', help: 'Ended sessions, by reason', label: 'reason', read: (s) => s.disconnects },
  { name: 'relay_connected', kind: 'gauge', help: 'Relay connections to RabbitMQ that are up', relay: true, read: (s) => s.relay?.connectionsUp ?? 0 },
  { name: 'relay_reconnects_total', kind: 'counter', help: 'Relay reconnections to RabbitMQ', relay: true, read: (s) => s.relay?.reconnects ?? 0 },
  { name: 'relay_round_trip_ms', kind: 'gauge', help: 'Round trip of the last RabbitMQ receipt, ms (-1 before the first)', relay: true, read: (s) => s.relay?.roundTripMs ?? -1 },
  { name: 'relay_frames_total', kind: 'counter', help: 'Frames relayed to and from RabbitMQ', label: 'direction', relay: true, read: (s) => ({ out: s.relay?.relayedOut, in: s.relay?.relayedIn }) },
  { name: 'relay_nodes', kind: 'gauge', help: 'Other nodes this node knows of (cluster user registry)', relay: true, read: (s) => s.relay?.nodes.length ?? 0 },
];

/**
 * Registers Prometheus metrics for `broker` (`stompkit_connections`, `stompkit_messages_in_total{prefix}`,
 * ...: see DEFINITIONS) and returns their names and a way to unregister them.
 */
export function collectPrometheusMetrics(broker: StompBroker, options: PrometheusOptions = {}): PrometheusCollectors {
  const client = options.client ?? loadPromClient();
  const register = options.register ?? client.register;
  const prefix = options.prefix ?? 'stompkit_';
  let snapshot: StompBrokerStats | undefined;
  const stats = (): StompBrokerStats => {
    if (snapshot === undefined) {
      snapshot = broker.stats();
      setImmediate(() => (snapshot = undefined));
    }
    return snapshot;
  };
  const names: string[] = [];
  const relay = broker.stats().relay !== undefined;
  for (const definition of DEFINITIONS) {
    if (definition.relay === true && !relay) continue;
    const name = prefix + definition.name;
    const { kind, label, read } = definition;
    const Metric = (kind === 'gauge' ? client.Gauge : client.Counter) as MetricConstructor;
    new Metric({
      name,
      help: definition.help,
      labelNames: label === undefined ? [] : [label],
      registers: [register],
      collect(this: PromMetricLike) {
        const value = read(stats());
        // prom-client's set/inc take (labels, value) or (value).
        const put = (kind === 'gauge' ? this.set : this.inc)!.bind(this) as (...args: [number] | [Record<string, string>, number]) => void;
        this.reset();
        if (typeof value === 'number') {
          put(value);
          return;
        }
        for (const key of Object.keys(value)) put({ [label!]: key }, value[key] ?? 0);
      },
    });
    names.push(name);
  }
  return {
    names,
    unregister() {
      for (const name of names) register.removeSingleMetric(name);
    },
  };
}

function loadPromClient(): PromClientLike {
  try {
    // Loaded only here, on demand: prom-client is an optional peer dependency of @stompkit/core.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as PromClientLike;
  } catch (err) {
    throw new Error("collectPrometheusMetrics needs prom-client: npm install prom-client (or pass { client: require('prom-client') })", { cause: err });
  }
}

function sum(record: Record<string, number>): number {
  let total = 0;
  for (const key in record) total += record[key];
  return total;
}
