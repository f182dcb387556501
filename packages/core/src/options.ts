/**
 * Every option of createBroker() with its default, resolved once at construction. The README's
 * configuration table is generated from the same defaults; keep them in step.
 */
import type { Logger, LoggerOption } from './logger';
import { resolveLogger } from './logger';
import { CompositeMessageConverter, type MessageConvertersOption } from './message-converter';
import type { Broker } from './broker/types';
import type { SimpleBrokerOptions } from './broker/simple-broker';
import type { ChannelInterceptor } from './channel/interceptors';
import type { HandshakeInterceptor } from './transport/handshake';
import type { SlowConsumerPolicy } from './session/outbox';
import type { RelayOptions } from './relay/relay-options';

export interface Principal {
  readonly name: string;
  readonly [key: string]: unknown;
}

/** What the authenticator hook sees of a CONNECT frame. */
export interface ConnectInfo {
  readonly login?: string;
  readonly passcode?: string;
  readonly host?: string;
  readonly version: string;
  /** All CONNECT headers, in order (first wins on look-up). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The principal established at the handshake, if any. */
  readonly user?: Principal;
  readonly sessionId: string;
  readonly attributes: Map<string, unknown>;
}

/**
 * Decides who a CONNECT is. Return a principal to accept as that user, `undefined` to accept
 * keeping the handshake principal (or anonymous), or `false`/throw to refuse (the client gets ERROR
 * and close, never CONNECTED). May be async.
 */
export type Authenticator = (
  info: ConnectInfo,
) => Principal | undefined | false | Promise<Principal | undefined | false>;

export interface Limits {
  /** Max bytes of one STOMP frame (command + headers + body); a larger `content-length` is refused as soon as it is read. Default 1 MiB. */
  maxFrameBytes?: number;
  /** Max header lines in one frame. Default 100. */
  maxHeaders?: number;
  /** Max bytes of a frame's command line and headers. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Time allowed from the WebSocket upgrade to a CONNECT frame, ms. Default 30000. */
  connectTimeout?: number;
  /** Live sessions in this process; an upgrade past it gets ERROR and close. 0 = no limit. Default 100000. */
  maxSessions?: number;
  /** Subscriptions one session may hold. 0 = no limit. Default 10000. */
  maxSubscriptionsPerSession?: number;
  /** Transactions one session may have open at once. 0 = no limit. Default 32. */
  maxTransactionsPerSession?: number;
  /** Frames (SEND/ACK/NACK) buffered in one transaction. 0 = no limit. Default 10000. */
  maxFramesPerTransaction?: number;
  /** Frames one session may send per second (heart-beats not counted). 0 = off. Default 0 (off). */
  maxFramesPerSecond?: number;
  /** Unflushed bytes on a session's socket above which further frames wait in its backlog (the session is then "congested"). Default 256 KiB. */
  outboundHighWaterMark?: number;
  /** Bytes a session's backlog may hold before the slow-consumer policy applies. Default 1 MiB. */
  maxOutboundBytes?: number;
  /** ms a backlog may wait for the client to read before the session is closed as a slow consumer. 0 = no limit. Default 10000. */
  sendTimeLimit?: number;
}

export interface BrokerOptions {
  /**
   * What happens to a session whose client does not read fast enough once its backlog exceeds
   * limits.maxOutboundBytes: 'close' (ERROR-less close, as Spring's TERMINATE) or 'drop-oldest'
   * (its oldest waiting topic messages are dropped; queue messages are never dropped: they wait in
   * the broker while the session is congested). Default 'close'.
   */
  slowConsumerPolicy?: SlowConsumerPolicy;
  /** Destination prefixes served by the message broker. Default ['/topic', '/queue']. */
  brokerPrefixes?: string[];
  /** Destination prefixes with queue (competing-consumer) semantics; the rest are topics. Default ['/queue']. */
  queuePrefixes?: string[];
  /**
   * Segment separator of wildcard SUBSCRIBE destinations on the broker: with '/',
   * `/topic/stocks/*`; with '.', `/topic/stocks.*.nasdaq` (the part up to the last '/' stays fixed
   * and only the rest is split on '.'). A segment exactly `*` matches one non-empty segment, `**`
   * zero or more; wildcards are refused on queue destinations. Default '/'.
   */
  destinationSeparator?: '/' | '.';
  /**
   * Honour the SUBSCRIBE `selector` header (`type = 'x' AND priority > 5`: a small SQL-like
   * grammar over message headers, compiled without eval; see broker/selector.ts). When false, a
   * SUBSCRIBE carrying `selector` is refused with ERROR rather than silently unfiltered.
   * Default true (unlike Spring's SpEL selectors, off since 6.1, ours cannot run code).
   */
  selectors?: boolean;
  /**
   * Prefixes of application destinations: a SEND or SUBSCRIBE there goes to the handlers
   * (`broker.handle`, `@MessageMapping`, `@SubscribeMapping`), never to the broker. Default ['/app'].
   */
  appPrefixes?: string[];
  /** Prefix of user destinations ('/user/queue/x' to subscribe, '/user/{name}/queue/x' to send). Default '/user'. */
  userPrefix?: string;
  /**
   * Where a session is told about a frame refused without closing it (an unhandled handler error,
   * an invalid payload, an interceptor's `reject(…, { close: false })`): an ERROR-shaped MESSAGE
   * to this user destination of that session, which clients subscribe to as userPrefix + this
   * ('/user/queue/errors'). null = log only. Default '/queue/errors'.
   */
  errorDestination?: string | null;
  /** Channel interceptors on inbound client frames and outbound MESSAGE deliveries (see channel/interceptors.ts). Default none. */
  interceptors?: { inbound?: ChannelInterceptor[]; outbound?: ChannelInterceptor[] };
  /** Heart-beats the server offers, [cx, cy] in ms: cx = how often it can send, cy = how often it wants to hear from the client. Default [10000, 10000]. */
  heartbeat?: [number, number];
  /** A peer silent for longer than the negotiated interval times this factor is dropped. Default 2. */
  heartbeatGrace?: number;
  /**
   * A client asking for heart-beats more often than `heartbeat` offers (its CONNECT `heart-beat`)
   * gets them at its rate, rounded up to a multiple of this floor and never below it (ms): that
   * session's CONNECTED `heart-beat` then says so, and the silence check follows. Rounding keeps
   * one shared timer per distinct period. Default 1000.
   */
  heartbeatFloor?: number;
  /**
   * A SEND or SUBSCRIBE whose destination matches no prefix, no handler or no subscribe mapping is
   * refused: by default without closing the session (the explanation goes to the session's
   * `/user/queue/errors`, plus a warn log); `true` sends ERROR and closes, as STOMP's letter has it.
   * Default false.
   */
  strictDestinations?: boolean;
  /**
   * Message conversion for handlers, interceptors' `payload`, handler replies and the template
   * (message-converter.ts): an array of converters asked before the defaults, or a function
   * `(defaults) => converters` returning the list to use. Default: the defaults (Spring's).
   */
  messageConverters?: MessageConvertersOption;
  /** Value of the CONNECTED frame's `server` header. Default 'stompkit/<version>'. */
  serverName?: string;
  limits?: Limits;
  /** Authenticates CONNECT frames (login/passcode, tokens in headers). Default: accept everyone. */
  authenticate?: Authenticator;
  /** In-memory broker settings (queue depth, overflow, dead letters, prefetch). */
  simpleBroker?: Omit<SimpleBrokerOptions, 'queuePrefixes' | 'nextId' | 'destinationSeparator'>;
  /** Replace the in-memory broker (e.g. `createRelayBroker(…)`). Default: a SimpleBroker built from the options above. */
  broker?: Broker;
  /**
   * Scale out through RabbitMQ's STOMP plugin: broker destinations live in RabbitMQ and every node
   * with the same relay settings is one broker (relay/relay-broker.ts; README "Scale-out through
   * RabbitMQ"). Default: none (the in-memory broker).
   */
  relay?: RelayOptions;
  /** A pino-compatible logger, or false for none. Default: warnings and errors to stderr, one line each. */
  logger?: LoggerOption;
  /** Node id used in message ids (`<node>-<counter>`); unique across processes. Default: random. */
  nodeId?: string;
  /**
   * Origins allowed to open a WebSocket (checked before any handshake interceptor; others get
   * 403). Exact origins ('https://app.example'), patterns with '*' ('https://*.example.com',
   * 'http://localhost:*'), or '*' for any. A request without an Origin header (not a browser) and a
   * same-origin request (Origin host:port equals the Host header) are always allowed.
   * Default: [] — same-origin only, which stops cross-site WebSocket hijacking.
   */
  allowedOrigins?: string[];
  /**
   * Handshake interceptors, run in order after the origin check: `before(req, ctx)` may fill
   * `ctx.attributes`, set `ctx.user`, or refuse (`false` → 403, `{ status, reason }`), async
   * allowed; `after(req, session)` runs once the session exists. Default: none.
   */
  handshake?: HandshakeInterceptor[];
}

export interface ResolvedOptions {
  brokerPrefixes: string[];
  queuePrefixes: string[];
  destinationSeparator: '/' | '.';
  selectors: boolean;
  appPrefixes: string[];
  userPrefix: string;
  errorDestination: string | null;
  interceptors: { inbound: readonly ChannelInterceptor[]; outbound: readonly ChannelInterceptor[] };
  heartbeat: [number, number];
  heartbeatGrace: number;
  heartbeatFloor: number;
  strictDestinations: boolean;
  converter: CompositeMessageConverter;
  serverName: string;
  limits: Required<Limits>;
  slowConsumerPolicy: SlowConsumerPolicy;
  authenticate?: Authenticator;
  logger: Logger;
}

export const VERSION = '0.1.0';

export const DEFAULT_LIMITS: Required<Limits> = {
  maxFrameBytes: 1024 * 1024,
  maxHeaders: 100,
  maxHeaderBytes: 64 * 1024,
  connectTimeout: 30_000,
  maxSessions: 100_000,
  maxSubscriptionsPerSession: 10_000,
  maxTransactionsPerSession: 32,
  maxFramesPerTransaction: 10_000,
  maxFramesPerSecond: 0,
  outboundHighWaterMark: 256 * 1024,
  maxOutboundBytes: 1024 * 1024,
  sendTimeLimit: 10_000,
};

export function resolveOptions(options: BrokerOptions): ResolvedOptions {
  const heartbeat = options.heartbeat ?? [10_000, 10_000];
  if (heartbeat.length !== 2 || heartbeat.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new TypeError(`heartbeat must be [cx, cy] with non-negative integers (ms), got ${JSON.stringify(heartbeat)}`);
  }
  const grace = options.heartbeatGrace ?? 2;
  if (!(grace >= 1)) throw new TypeError(`heartbeatGrace must be >= 1, got ${grace}`);
  const floor = options.heartbeatFloor ?? 1000;
  if (!Number.isInteger(floor) || floor < 1) throw new TypeError(`heartbeatFloor must be a positive integer (ms), got ${String(floor)}`);
  const brokerPrefixes = normalizePrefixes(options.brokerPrefixes ?? ['/topic', '/queue'], 'brokerPrefixes');
  const appPrefixes = normalizePrefixes(options.appPrefixes ?? ['/app'], 'appPrefixes');
  const [userPrefix] = normalizePrefixes([options.userPrefix ?? '/user'], 'userPrefix');
  for (const p of [...appPrefixes, userPrefix]) {
    if (!p.startsWith('/')) throw new TypeError(`appPrefixes and userPrefix must start with '/', got '${p}'`);
    if (brokerPrefixes.includes(p)) throw new TypeError(`'${p}' cannot be both a broker prefix and an application or user prefix`);
  }
  const errorDestination = options.errorDestination === undefined ? '/queue/errors' : options.errorDestination;
  if (errorDestination !== null && (typeof errorDestination !== 'string' || !brokerPrefixes.some((p) => hasPrefix(errorDestination, p)))) {
    throw new TypeError(`errorDestination must be a broker destination such as '/queue/errors' (or null), got ${JSON.stringify(errorDestination)}`);
  }
  return {
    brokerPrefixes,
    queuePrefixes: normalizePrefixes(options.queuePrefixes ?? ['/queue'], 'queuePrefixes'),
    destinationSeparator: checkSeparator(options.destinationSeparator ?? '/'),
    selectors: options.selectors ?? true,
    appPrefixes,
    userPrefix,
    errorDestination,
    interceptors: {
      inbound: [...(options.interceptors?.inbound ?? [])],
      outbound: [...(options.interceptors?.outbound ?? [])],
    },
    heartbeat: [heartbeat[0], heartbeat[1]],
    heartbeatGrace: grace,
    heartbeatFloor: floor,
    strictDestinations: options.strictDestinations === true,
    converter: new CompositeMessageConverter(options.messageConverters),
    serverName: options.serverName ?? `stompkit/${VERSION}`,
    limits: resolveLimits(options.limits ?? {}),
    slowConsumerPolicy: resolveSlowConsumerPolicy(options.slowConsumerPolicy),
    authenticate: options.authenticate,
    logger: resolveLogger(options.logger),
  };
}

function checkSeparator(separator: '/' | '.'): '/' | '.' {
  if (separator !== '/' && separator !== '.') throw new TypeError(`destinationSeparator must be '/' or '.', got ${JSON.stringify(separator)}`);
  return separator;
}

function resolveLimits(limits: Limits): Required<Limits> {
  const resolved = { ...DEFAULT_LIMITS, ...definedOnly(limits) };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`limits.${name} must be a non-negative integer, got ${String(value)}`);
  }
  return resolved;
}

function resolveSlowConsumerPolicy(policy: SlowConsumerPolicy | undefined): SlowConsumerPolicy {
  if (policy === undefined) return 'close';
  if (policy !== 'close' && policy !== 'drop-oldest') throw new TypeError(`slowConsumerPolicy must be 'close' or 'drop-oldest', got ${String(policy)}`);
  return policy;
}

function normalizePrefixes(prefixes: string[], name: string): string[] {
  return prefixes.map((p) => {
    if (typeof p !== 'string' || p.length === 0) throw new TypeError(`${name} entries must be non-empty strings`);
    return p.endsWith('/') ? p.slice(0, -1) : p;
  });
}

function definedOnly<T extends object>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(obj) as Array<keyof T>) {
    if (obj[key] !== undefined) out[key] = obj[key];
  }
  return out;
}

/** True when `destination` is `prefix` itself or lies below it (`/topic` matches `/topic/a` and `/topic.a`, not `/topics`). */
export function hasPrefix(destination: string, prefix: string): boolean {
  if (!destination.startsWith(prefix)) return false;
  if (destination.length === prefix.length) return true;
  const next = destination.charCodeAt(prefix.length);
  return next === 47 /* / */ || next === 46 /* . */;
}
