/**
 * Options of the RabbitMQ relay (`createBroker({ relay: { … } })`), with their defaults, resolved
 * once. Read by relay-broker.ts and relay-connection.ts.
 */
import type { RelayConnectionOptions } from './relay-connection';

export interface RelayOptions {
  /**
   * `stomp://login:passcode@host:port/virtual-host` (every part optional; the path, URL-decoded,
   * is the virtual host). Explicit options below win over the URL. Default none.
   */
  url?: string;
  /** RabbitMQ STOMP host (a loopback or private address). Default '127.0.0.1'. */
  host?: string;
  /** RabbitMQ STOMP port. Default 61613. */
  port?: number;
  /** Default 'guest'. */
  login?: string;
  /** Default 'guest'. */
  passcode?: string;
  /** The CONNECT `host` header: RabbitMQ's virtual host. Default '/'. */
  virtualHost?: string;
  /** Heart-beats offered to RabbitMQ [cx, cy], ms. Default [10000, 10000]. */
  heartbeat?: [number, number];
  /** STOMP connections this node keeps to RabbitMQ, whatever the number of clients. Default 2. */
  connections?: number;
  /** Time allowed for TCP connect + CONNECTED, ms. Default 10000. */
  connectTimeout?: number;
  /** First reconnect delay, ms; doubles per failed attempt, with jitter. Default 500. */
  reconnectDelay?: number;
  /** Longest reconnect delay, ms. Default 10000. */
  maxReconnectDelay?: number;
  /**
   * How often each node broadcasts its full user list, ms; a node not heard from for 3 × this
   * is dropped from every registry. Joins and leaves travel at once. Default 2000.
   */
  registryInterval?: number;
  /**
   * Name of the group of nodes that form one broker: prefix of the relay's own routing keys, so
   * two clusters can share one RabbitMQ. Default 'stompkit'.
   */
  cluster?: string;
  /** RabbitMQ exchange carrying the relay's own traffic (registry, per-node deliveries). Default 'amq.direct'. */
  controlExchange?: string;
  /** Largest frame accepted from RabbitMQ, bytes. Default: the server's maxFrameBytes + 64 KiB. */
  maxFrameBytes?: number;
}

export interface ResolvedRelayOptions extends Omit<RelayConnectionOptions, 'logger' | 'maxFrameBytes'> {
  connections: number;
  registryInterval: number;
  cluster: string;
  controlExchange: string;
  maxFrameBytes?: number;
}

export function resolveRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  const fromUrl = options.url === undefined ? {} : parseRelayUrl(options.url);
  const resolved: ResolvedRelayOptions = {
    host: options.host ?? fromUrl.host ?? '127.0.0.1',
    port: options.port ?? fromUrl.port ?? 61613,
    login: options.login ?? fromUrl.login ?? 'guest',
    passcode: options.passcode ?? fromUrl.passcode ?? 'guest',
    virtualHost: options.virtualHost ?? fromUrl.virtualHost ?? '/',
    heartbeat: options.heartbeat ?? [10_000, 10_000],
    connectTimeout: options.connectTimeout ?? 10_000,
    reconnectDelay: options.reconnectDelay ?? 500,
    maxReconnectDelay: options.maxReconnectDelay ?? 10_000,
    connections: options.connections ?? 2,
    registryInterval: options.registryInterval ?? 2000,
    cluster: options.cluster ?? 'stompkit',
    controlExchange: options.controlExchange ?? 'amq.direct',
    maxFrameBytes: options.maxFrameBytes,
  };
  const positive = ['port', 'connections', 'connectTimeout', 'reconnectDelay', 'maxReconnectDelay', 'registryInterval'] as const;
  for (const name of positive) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value <= 0) throw new TypeError(`relay.${name} must be a positive integer, got ${String(value)}`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(resolved.cluster)) throw new TypeError(`relay.cluster must be letters, digits, '-' or '_', got '${resolved.cluster}'`);
  const hb = resolved.heartbeat;
  if (hb.length !== 2 || hb.some((n) => !Number.isInteger(n) || n < 0)) throw new TypeError(`relay.heartbeat must be [cx, cy] (ms), got ${JSON.stringify(hb)}`);
  return resolved;
}

/** `stomp://guest:guest@127.0.0.1:61613/vhost` → its parts. */
export function parseRelayUrl(url: string): Partial<Pick<ResolvedRelayOptions, 'host' | 'port' | 'login' | 'passcode' | 'virtualHost'>> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`relay.url must look like stomp://login:passcode@host:61613, got '${url}'`);
  }
  if (parsed.protocol !== 'stomp:' && parsed.protocol !== 'tcp:') throw new TypeError(`relay.url must use stomp://, got '${parsed.protocol}'`);
  const out: ReturnType<typeof parseRelayUrl> = {};
  if (parsed.hostname !== '') out.host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (parsed.port !== '') out.port = Number(parsed.port);
  if (parsed.username !== '') out.login = decodeURIComponent(parsed.username);
  if (parsed.password !== '') out.passcode = decodeURIComponent(parsed.password);
  if (parsed.pathname.length > 1) out.virtualHost = decodeURIComponent(parsed.pathname.slice(1));
  return out;
}
