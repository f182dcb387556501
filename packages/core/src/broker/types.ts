/**
 * The neutral seam between sessions and brokers. A broker sees subscriptions, messages, acks and
 * disconnects; it never sees STOMP text and never touches a socket. Sessions never know which
 * broker is behind them. The in-memory {@link SimpleBroker} implements it today; a relay to an
 * external broker can implement the same interface (every method may return a promise).
 */
import type { HeaderList } from '../codec/frame';

export type AckMode = 'auto' | 'client' | 'client-individual';
export const ACK_MODES: readonly AckMode[] = ['auto', 'client', 'client-individual'];

/** One published message. Immutable once published: the same object is delivered to every subscriber. */
export interface BrokerMessage {
  /** Unique message id (`<node id>-<counter>`); becomes the MESSAGE frame's `message-id`. */
  readonly id: string;
  readonly destination: string;
  /**
   * User-defined headers in order. Never contains the headers the server owns on a MESSAGE frame:
   * `destination`, `message-id`, `subscription`, `ack`, `content-length`, `content-type`,
   * `receipt`, `transaction`, `redelivered`.
   */
  readonly headers: HeaderList;
  readonly body: Buffer;
  readonly contentType?: string;
  /** The publishing session, when a client sent it (undefined for application publishes). */
  readonly senderSessionId?: string;
}

export interface SubscriptionSpec {
  /** The subscription id, unique within its session. */
  readonly id: string;
  readonly destination: string;
  readonly ack: AckMode;
  /** Max unacknowledged deliveries in flight for client ack modes; 0 = unlimited. */
  readonly prefetch?: number;
  /** Optional filter evaluated per message (selectors are compiled to this by a later layer). */
  readonly filter?: (message: BrokerMessage) => boolean;
}

/** What a consumer receives: one message for one of its subscriptions. */
export interface Delivery {
  readonly message: BrokerMessage;
  readonly subscriptionId: string;
  /** Set when the subscription's ack mode is not `auto`: the value a client must ACK/NACK. */
  readonly ackId?: string;
  /** True when this message was delivered before (NACK, or its consumer went away unacked). */
  readonly redelivered: boolean;
}

/** The receiving end of subscriptions: a client session, or an in-process subscriber. */
export interface Consumer {
  readonly sessionId: string;
  deliver(delivery: Delivery): void;
  /**
   * True while the consumer cannot take more queue messages (a client whose outbound buffer is
   * full). Queue messages then stay in the broker, for other consumers or until the consumer's
   * session calls {@link Broker.resume}. Topic deliveries are not held back (the session applies
   * its slow-consumer policy to them).
   */
  readonly congested?: boolean;
}

export interface BrokerStats {
  subscriptions: number;
  destinations: number;
  /** Messages held per queue destination, waiting for a consumer. */
  queueDepths: Record<string, number>;
  /** Deliveries awaiting ACK across all subscriptions. */
  unacked: number;
  published: number;
  delivered: number;
  redelivered: number;
  deadLettered: number;
  dropped: number;
  /**
   * Wildcard subscriptions (brokers that index patterns): distinct patterns with subscribers,
   * destinations in the match cache now, and cache hits / misses since start. A miss rate that
   * stays high means the cache (`patternCacheSize`) is smaller than the set of hot destinations.
   */
  patterns?: { patterns: number; cached: number; hits: number; misses: number };
}

export interface Broker {
  subscribe(consumer: Consumer, spec: SubscriptionSpec): void | Promise<void>;
  /** Returns false when the session has no such subscription. Unacked queue messages go back to the queue. */
  unsubscribe(sessionId: string, subscriptionId: string): boolean | Promise<boolean>;
  /** Throws a StompError (e.g. STOMP_ERR_QUEUE_FULL) when the message cannot be accepted. */
  publish(message: BrokerMessage): void | Promise<void>;
  /**
   * Acknowledge a delivery by its ack id. For `client` subscriptions this also acknowledges every
   * earlier delivery on the same subscription (cumulative). Returns false for an unknown id.
   */
  ack(sessionId: string, ackId: string): boolean | Promise<boolean>;
  /** Negative acknowledgement: queue messages are redelivered (or dead-lettered); topic messages are discarded. */
  nack(sessionId: string, ackId: string): boolean | Promise<boolean>;
  /** The session is gone: drop its subscriptions, return its unacked queue messages. */
  disconnect(sessionId: string): void | Promise<void>;
  /** A congested consumer of this session has room again: held queue messages may move to it. */
  resume?(sessionId: string): void | Promise<void>;
  stats(): BrokerStats;
}
