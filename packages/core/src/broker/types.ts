/**
 * The neutral seam between sessions and brokers. A broker sees subscriptions, messages, acks and
 * disconnects; it never sees STOMP text and never touches a socket. Sessions never know which
 * broker is behind them. The in-memory {@link SimpleBroker} implements it, and so does the
 * RabbitMQ relay (relay/relay-broker.ts); every method may return a promise.
 */
import type { HeaderList } from '../codec/frame';
import type { Logger } from '../logger';
import type { UserRegistry } from '../user/user-registry';

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
  /**
   * The publisher waits for the broker to confirm (a client SEND carrying `receipt`, or a COMMIT
   * carrying one): a broker in front of another one (the relay) then resolves publish() only once
   * that broker took the message; without it, it may publish without waiting for an answer.
   */
  readonly confirm?: boolean;
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
  /**
   * Ends the consumer's session with an ERROR carrying `message`: the broker can no longer serve
   * one of its subscriptions as promised (the relay lost RabbitMQ with unacked deliveries in
   * flight). In-process consumers have none; their subscription just ends.
   */
  close?(message: string): void;
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
  /** A relay broker's state (relay/relay-broker.ts); absent for the in-memory broker. */
  relay?: RelayStats;
}

export interface RelayStats {
  /** True while every relay connection to RabbitMQ is up. */
  connected: boolean;
  /** Relay connections up now, and configured. */
  connectionsUp: number;
  connections: number;
  /** Reconnections since start (over all connections). */
  reconnects: number;
  /** Round trip of the last RabbitMQ receipt, ms (-1 before the first). */
  roundTripMs: number;
  /** Frames sent to RabbitMQ (SEND, forwarded user messages) and MESSAGE frames received from it. */
  relayedOut: number;
  relayedIn: number;
  /** RabbitMQ subscriptions held: one per topic destination, one per queue subscription, plus the relay's own. */
  rabbitSubscriptions: number;
  /** This node's id, and the other nodes it knows of (user registry). */
  node: string;
  nodes: string[];
}

/** What a broker may need from the server that hosts it (given once, to {@link Broker.start}). */
export interface BrokerHost {
  /** This process's node id (message ids, the cluster user registry). */
  readonly nodeId: string;
  /** The user registry; a broker spanning nodes merges other nodes' users into it. */
  readonly users: UserRegistry;
  /** Delivers a user message ('/user/<name>/…') that another node forwarded to this node's sessions. */
  deliverToUser(message: BrokerMessage): void | Promise<void>;
  readonly logger: Logger;
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
  /** Called once by the server that owns the broker, before any session exists. */
  start?(host: BrokerHost): void;
  /**
   * The user has sessions on other nodes (UserRegistry.nodesOf): deliver `message` (destination
   * '/user/<name>/…') there. Brokers that span nodes implement it; the channel calls it after the
   * local delivery.
   */
  forwardToUser?(name: string, message: BrokerMessage): void | Promise<void>;
  /** The server closed: release connections and timers. */
  shutdown?(): Promise<void>;
}
