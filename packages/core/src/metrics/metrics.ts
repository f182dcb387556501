/**
 * The broker's own counters, behind `broker.stats()` and the Prometheus collectors.
 *
 * Cost model: the few places that know something happened call one method here, and each method
 * is a handful of integer additions. Nothing here allocates on the message path.
 * - A client SEND taking effect: one prefix look-up (a `startsWith` per configured prefix) and two
 *   additions.
 * - A MESSAGE handed to a session: the destination's prefix group is resolved once per published
 *   message, not per recipient — a fan-out hands the same message to every subscriber in turn, so
 *   a one-entry cache (last destination → group) turns the other recipients into one string
 *   identity compare — then the frame's bytes are summed from the parts the encoder already made
 *   (2 to 4 lengths) and two counters are incremented.
 * - Errors, limits, closes, connections: rare; a Map increment each.
 * Whatever is a current value rather than an event (sessions by version, subscriptions, bytes
 * waiting on sockets, queue depths) is not tracked at all: it is computed when stats() is asked.
 *
 * Destinations are grouped by the configured prefixes (application prefixes, the user prefix,
 * broker prefixes, in that order; first match wins) plus 'other', so label cardinality is fixed
 * by configuration and never by what clients send.
 */
import type { BrokerStats } from '../broker/types';
import type { StompErrorCode } from '../errors';
import { hasPrefix, type ResolvedOptions } from '../options';

/** The label for destinations under no configured prefix. */
export const OTHER_PREFIX = 'other';

/** Counts keyed by destination prefix group ('/topic', '/queue', '/app', '/user', 'other'). */
export type ByPrefix = Record<string, number>;

/** Why sessions ended (CloseReason kinds), counted. */
export type DisconnectKind =
  | 'client-disconnect'
  | 'protocol-error'
  | 'heartbeat-timeout'
  | 'slow-consumer'
  | 'connect-timeout'
  | 'server-close'
  | 'transport-closed';

/** What `broker.stats()` returns: the message broker's own stats plus the server's. */
export interface StompBrokerStats extends BrokerStats {
  /** Open WebSocket connections. */
  connections: number;
  /** Connections accepted since start. */
  connectionsOpened: number;
  /** Sessions that completed CONNECT (CONNECTED sent) since start. */
  sessionsConnected: number;
  /** Live sessions (connected or still awaiting CONNECT). */
  sessions: number;
  /** Connected sessions by negotiated STOMP version. */
  sessionsByVersion: Record<'1.0' | '1.1' | '1.2', number>;
  /** Client SEND frames, counted when applied (a transaction's at COMMIT), refused ones included, by destination prefix. */
  messagesIn: ByPrefix;
  /** Body bytes of those SEND frames, by destination prefix. */
  bytesIn: ByPrefix;
  /** MESSAGE frames handed to client sessions, by destination prefix. */
  messagesOut: ByPrefix;
  /** Bytes of those MESSAGE frames as encoded (headers + body + NUL), by destination prefix. */
  bytesOut: ByPrefix;
  /**
   * Messages lost: `droppedBy.broker` (queue overflow policy, undeliverable dead letters) plus
   * `droppedBy.slowConsumer` (topic MESSAGE frames dropped by slowConsumerPolicy 'drop-oldest').
   */
  dropped: number;
  droppedBy: { broker: number; slowConsumer: number };
  /** Errors reported to clients, by code: ERROR frames, and refusals that kept the session open. */
  errorsByCode: Partial<Record<StompErrorCode, number>>;
  /** Exceeded limits by name (`maxFrameBytes`, `maxSubscriptionsPerSession`, `maxOutboundBytes`, `maxPayload`, ...). */
  limitsExceeded: Record<string, number>;
  /** Bytes written to sessions' sockets and not yet flushed, plus their backlogs, now. */
  outboundBufferedBytes: number;
  /** Sessions dropped because the client's heart-beats stopped. */
  heartbeatTimeouts: number;
  /** Ended sessions by reason. */
  disconnects: Partial<Record<DisconnectKind, number>>;
}

/** What stats() needs to know of a live session. */
export interface MeteredSession {
  readonly state: string;
  readonly version: string;
  /** Bytes waiting on the socket and in the session's backlog. */
  readonly outboundBytes: number;
}

/** Decoder errors are limits too, though the decoder (codec/) does not name them in a header. */
const LIMIT_OF_CODE: Partial<Record<StompErrorCode, string>> = {
  STOMP_ERR_FRAME_TOO_LARGE: 'maxFrameBytes',
  STOMP_ERR_HEADER_TOO_LARGE: 'maxHeaderBytes',
  STOMP_ERR_TOO_MANY_HEADERS: 'maxHeaders',
};

/** The part of a StompError the counters read. */
export interface CountedError {
  readonly code: StompErrorCode;
  readonly headers?: ReadonlyArray<readonly [string, string]>;
}

export class Metrics {
  /** Group labels in look-up order, OTHER_PREFIX last. */
  readonly prefixes: readonly string[];
  private readonly matchers: readonly string[];
  private readonly messagesIn: Float64Array;
  private readonly bytesIn: Float64Array;
  private readonly messagesOut: Float64Array;
  private readonly bytesOut: Float64Array;
  /**
   * One-entry cache: the destination last counted out and its group. A fan-out hands every
   * recipient the same message, so the same destination string (an identity compare). Keyed by
   * the string, not the message: a long-lived reference to a message would get it promoted out of
   * the young generation at each scavenge, and its body freed only by a full GC (measured: +6 MB
   * peak RSS on the 1 GB slow-consumer test).
   */
  private lastDestination: string | undefined = undefined;
  private lastGroup = 0;
  private connectionsOpened = 0;
  private sessionsConnected = 0;
  private slowConsumerDropped = 0;
  private readonly errors = new Map<StompErrorCode, number>();
  private readonly limits = new Map<string, number>();
  private readonly disconnects = new Map<DisconnectKind, number>();

  constructor(options: Pick<ResolvedOptions, 'appPrefixes' | 'userPrefix' | 'brokerPrefixes'>) {
    const matchers: string[] = [];
    for (const p of [...options.appPrefixes, options.userPrefix, ...options.brokerPrefixes]) {
      if (!matchers.includes(p)) matchers.push(p);
    }
    this.matchers = matchers;
    this.prefixes = [...matchers, OTHER_PREFIX];
    const n = this.prefixes.length;
    this.messagesIn = new Float64Array(n);
    this.bytesIn = new Float64Array(n);
    this.messagesOut = new Float64Array(n);
    this.bytesOut = new Float64Array(n);
  }

  /** Index of the prefix group `destination` belongs to. */
  groupOf(destination: string): number {
    const matchers = this.matchers;
    for (let i = 0; i < matchers.length; i++) if (hasPrefix(destination, matchers[i])) return i;
    return matchers.length;
  }

  // ---- events (called where they happen) --------------------------------------------------------

  /** A client SEND is applied (session: when the frame becomes a message, before routing). */
  received(destination: string, bodyBytes: number): void {
    const group = this.groupOf(destination);
    this.messagesIn[group]++;
    this.bytesIn[group] += bodyBytes;
  }

  /** One MESSAGE frame for a session, as the encoder's parts (session.deliver). */
  sent(message: { readonly destination: string }, parts: readonly Buffer[]): void {
    const destination = message.destination;
    let group: number;
    if (destination === this.lastDestination) group = this.lastGroup;
    else {
      group = this.lastGroup = this.groupOf(destination);
      this.lastDestination = destination;
    }
    let bytes = 0;
    for (let i = 0; i < parts.length; i++) bytes += parts[i].length;
    this.messagesOut[group]++;
    this.bytesOut[group] += bytes;
  }

  connectionOpened(): void {
    this.connectionsOpened++;
  }

  sessionConnected(): void {
    this.sessionsConnected++;
  }

  /** Frames dropped from a slow consumer's backlog ('drop-oldest'). */
  droppedFrames(frames: number): void {
    this.slowConsumerDropped += frames;
  }

  /**
   * An error reported to a client (ERROR frame, or a refusal on its error destination). A limit
   * error is also counted under its limit's name: the `limit` header, the decoder's code, or `limit`.
   */
  error(error: CountedError, limit?: string): void {
    increment(this.errors, error.code);
    const name = limit ?? limitName(error);
    if (name !== undefined) increment(this.limits, name);
  }

  /** A limit enforced without a StompError (the WebSocket layer's maxPayload). */
  limitExceeded(name: string): void {
    increment(this.limits, name);
  }

  closed(kind: DisconnectKind): void {
    increment(this.disconnects, kind);
  }

  // ---- reading ----------------------------------------------------------------------------------

  /**
   * The full stats object: the message broker's stats, these counters, and what is computed from
   * the live sessions now (one pass over them).
   */
  stats(broker: BrokerStats, sessions: Iterable<MeteredSession>, sessionCount: number, connections: number): StompBrokerStats {
    const sessionsByVersion = { '1.0': 0, '1.1': 0, '1.2': 0 };
    let outboundBufferedBytes = 0;
    for (const session of sessions) {
      outboundBufferedBytes += session.outboundBytes;
      if (session.state === 'connected') {
        const version = session.version as keyof typeof sessionsByVersion;
        if (version in sessionsByVersion) sessionsByVersion[version]++;
      }
    }
    return {
      ...broker,
      connections,
      connectionsOpened: this.connectionsOpened,
      sessionsConnected: this.sessionsConnected,
      sessions: sessionCount,
      sessionsByVersion,
      messagesIn: this.byPrefix(this.messagesIn),
      bytesIn: this.byPrefix(this.bytesIn),
      messagesOut: this.byPrefix(this.messagesOut),
      bytesOut: this.byPrefix(this.bytesOut),
      dropped: broker.dropped + this.slowConsumerDropped,
      droppedBy: { broker: broker.dropped, slowConsumer: this.slowConsumerDropped },
      errorsByCode: Object.fromEntries(this.errors),
      limitsExceeded: Object.fromEntries(this.limits),
      outboundBufferedBytes,
      heartbeatTimeouts: this.disconnects.get('heartbeat-timeout') ?? 0,
      disconnects: Object.fromEntries(this.disconnects),
    };
  }

  private byPrefix(counts: Float64Array): ByPrefix {
    const out: ByPrefix = {};
    for (let i = 0; i < this.prefixes.length; i++) out[this.prefixes[i]] = counts[i];
    return out;
  }
}

/** The sum of a by-prefix record (all messages in, all bytes out, ...). */
export function sumByPrefix(counts: ByPrefix): number {
  let sum = 0;
  for (const key in counts) sum += counts[key];
  return sum;
}

function limitName(error: CountedError): string | undefined {
  if (error.code === 'STOMP_ERR_LIMIT') {
    const headers = error.headers;
    if (headers !== undefined) for (const [name, value] of headers) if (name === 'limit') return value;
    return 'unknown';
  }
  return LIMIT_OF_CODE[error.code];
}

function increment<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
