/**
 * SimpleBroker: the in-memory broker behind topic (publish-subscribe) and queue (competing
 * consumer) destinations. It sees neutral subscriptions, messages, acks and disconnects
 * (./types.ts); it never builds STOMP text and never touches a socket.
 *
 * Data structures
 * - `registry` ({@link SubscriptionRegistry}): destination → subscriptions and session →
 *   subscriptions. A topic publish is one Map look-up plus a walk over that destination's Set,
 *   plus the pattern subscriptions matching it (wildcards, pattern-index.ts): one cache hit,
 *   or one walk of the pattern trie, never a scan of unrelated subscriptions.
 * - `queues`: destination → {@link QueueState} for queue destinations that have consumers or held
 *   messages (created on demand, deleted when idle): the held FIFO, the consumers in subscription
 *   order and the round-robin cursor.
 * - `inFlight`: ack id → {@link QueueEntry} for every delivery awaiting ACK/NACK, queue or topic.
 *   Each subscription also keeps `pending`, ack id → entry in delivery order, so a cumulative
 *   (`client`) ACK walks from its oldest delivery and stops at the acked one, and prefetch room is
 *   `pending.size < prefetch`.
 * - `work`: the trampoline. Calls made from inside consumer.deliver() (in-process consumers ACK,
 *   NACK, publish or unsubscribe synchronously) never deliver themselves: they change state and
 *   append a work item (a queue that needs a dispatch pass, or a topic message to fan out). The
 *   outermost call runs the work list until it is empty. Deliveries therefore never nest, so an
 *   in-process consumer that NACKs every message walks it to the dead-letter queue in a loop, not
 *   down the stack.
 *
 * Invariants
 * 1. consumer.deliver() is only called while `busy` is true, and `busy` is only set by the
 *    outermost broker call: deliveries never nest, and every subscriber sees a destination's
 *    messages in publish order (a message published from inside a delivery is fanned out after
 *    the current one has reached everybody).
 * 2. A queue message is exactly one of: held in its queue, in flight to one subscription (in
 *    `inFlight` and that subscription's `pending` under its current ack id, with `holder` = that
 *    subscription), or gone (acked, delivered to an `auto` subscription, dead-lettered, dropped).
 * 3. Outside a broker call, no held message has a candidate consumer (one with prefetch room whose
 *    filter accepts it): anything that could create one (subscribe, ack, nack, unsubscribe,
 *    disconnect, publish) schedules the queue and runs the work list before returning.
 *    `QueueState.blocked` records the held prefix already known to have none.
 * 4. Ack ids are `<broker number>.<counter>` in base 36: unique per delivery, never reused.
 * 5. A subscription only receives messages published after it was created: each subscription
 *    gets a sequence number and a fan-out skips subscriptions newer than its publish.
 * 6. A topic message reaches each matching subscription exactly once, whether it matches by name
 *    or by pattern: a subscription lives in exactly one Set (its exact destination's, or its
 *    pattern's), and a fan-out visits each matching Set once. Two subscriptions of one session
 *    that both match each get the message. Deliveries through a pattern carry the destination the
 *    message was published to.
 *
 * Wildcards are topic-only: a pattern SUBSCRIBE on a queue destination is refused with
 * STOMP_ERR_DESTINATION (competing consumers across several queues would need a fairness policy
 * across queues that nothing asks for yet).
 *
 * Spec: STOMP 1.2 §SUBSCRIBE "ack" header (auto, client = cumulative, client-individual), §ACK,
 * §NACK; queue and dead-letter behaviour per DESIGN.md "Semantics we chose".
 */
import { StompError } from '../errors';
import type { HeaderList } from '../codec/frame';
import { createIdGenerator } from './message-id';
import { NO_MATCH, NO_ROOM, QueueEntry, QueueState, Deque } from './queue-state';
import type { QueueConsumer } from './queue-state';
import { SubscriptionRegistry } from './subscription-registry';
import type { RegistryEntry } from './subscription-registry';
import type { DestinationSeparator } from './pattern-index';
import { ACK_MODES } from './types';
import type { AckMode, Broker, BrokerMessage, BrokerStats, Consumer, Delivery, SubscriptionSpec } from './types';

export interface SimpleBrokerOptions {
  /**
   * Destination prefixes with queue (competing-consumer) semantics. Default `['/queue']`.
   * Everything else is publish-subscribe (topic). A prefix ending in a letter, digit, `_` or `-`
   * only matches at a segment boundary: `/queue` matches `/queue`, `/queue/a` and `/queue.a` but
   * not `/queues/a`.
   */
  queuePrefixes?: string[];
  /**
   * Max messages held per queue while no consumer can take them. Default 10000. Messages returned
   * to a queue (NACK, consumer gone) are never dropped for this limit, so a queue can briefly hold
   * more.
   */
  maxQueueDepth?: number;
  /**
   * What happens when a queue is full: `'reject'` (publish throws StompError STOMP_ERR_QUEUE_FULL
   * naming the queue and the limit; the sender gets an ERROR), `'drop-oldest'`, `'drop-newest'`.
   * Default `'reject'`. Drops are counted in stats().dropped. A dead letter that meets a full
   * dead-letter queue under `'reject'` is dropped (there is no sender to tell).
   */
  queueOverflow?: 'reject' | 'drop-oldest' | 'drop-newest';
  /** Deliveries of one queue message before it is dead-lettered instead of redelivered. Default 5. */
  maxDeliveries?: number;
  /**
   * Dead-letter destination for a queue destination. Default ``d => `${d}.dlq` ``. Return null to
   * discard instead (counted in stats().dropped). A dead letter is a new message (new id from
   * `nextId`) with the original headers plus `['x-original-destination', d]`, published to the
   * returned destination, which is a queue if it matches `queuePrefixes`. Loop protection: when
   * the returned destination is the message's own destination, or the message is itself a dead
   * letter, it is discarded and counted as dropped, so a message is dead-lettered at most once.
   */
  deadLetterDestination?: (destination: string) => string | null;
  /**
   * Default prefetch for client-ack queue subscriptions when SubscriptionSpec.prefetch is
   * undefined: 0 = unlimited. Default 0. (`auto` subscriptions and topics have no limit.)
   */
  defaultPrefetch?: number;
  /** Id generator for messages the broker creates itself (dead letters). Default `createIdGenerator()`. */
  nextId?: () => string;
  /**
   * Segment separator of wildcard subscriptions: `/topic/stocks/*` with '/', `/topic/stocks.*`
   * with '.' (there, the part up to the last '/' is a fixed root and only the rest is split; see
   * pattern-index.ts). A segment exactly `*` matches one non-empty segment, `**` zero or more.
   * Default '/'.
   */
  destinationSeparator?: DestinationSeparator;
  /**
   * Destinations whose matching pattern subscriptions are cached (evicted about least recently
   * used first; invalidated precisely when a pattern gains its first or loses its last
   * subscriber). 0 disables the cache: every publish walks the pattern trie. Default 1024
   * (Spring's DefaultSubscriptionRegistry cache limit). A hit costs one Map look-up; a miss walks
   * the trie (~0.5 µs for a 4-segment destination) and caching the result costs ~1–2 µs more, so
   * when `stats().patterns.misses` keeps climbing (more hot destinations than entries) raise this,
   * or set 0 when published destinations rarely repeat. Only consulted while pattern
   * subscriptions exist.
   */
  patternCacheSize?: number;
  /**
   * Called with errors thrown by a consumer's deliver() or a subscription's filter (they never
   * break the publish loop or other consumers). Default: ignore. A delivery whose deliver() threw
   * still counts as delivered (and, in a client ack mode, still awaits its ACK).
   */
  onConsumerError?: (err: unknown, sessionId: string) => void;
}

type Overflow = NonNullable<SimpleBrokerOptions['queueOverflow']>;
const OVERFLOW_POLICIES: readonly Overflow[] = ['reject', 'drop-oldest', 'drop-newest'];

const ORIGINAL_DESTINATION = 'x-original-destination';

/** Numbers the brokers of this process, so ack ids of two brokers never collide. */
let brokerCount = 0;

/** The `pending` of every subscription that never had a delivery awaiting ACK: never added to. */
const NO_PENDING = new Map<string, Entry>();

/** A subscription as the broker keeps it. */
class BrokerSubscription implements RegistryEntry, QueueConsumer {
  closed = false;
  /**
   * Deliveries awaiting ACK/NACK, by ack id, in delivery order. Shared and empty until the first
   * such delivery (auto-ack subscriptions, most of them, never get a map of their own): add
   * through {@link BrokerSubscription.awaitAck}.
   */
  pending = NO_PENDING;

  constructor(
    readonly consumer: Consumer,
    readonly sessionId: string,
    readonly id: string,
    readonly destination: string,
    readonly ack: AckMode,
    /** Max pending deliveries; 0 = unlimited (always 0 for `auto` and for topics). */
    readonly prefetch: number,
    readonly filter: ((message: BrokerMessage) => boolean) | undefined,
    /** The queue it consumes from; undefined for a topic subscription. */
    readonly queue: QueueState<BrokerSubscription> | undefined,
    readonly seq: number,
  ) {}

  /** Records a delivery awaiting ACK/NACK. */
  awaitAck(ackId: string, entry: Entry): void {
    if (this.pending === NO_PENDING) this.pending = new Map();
    this.pending.set(ackId, entry);
  }

  hasRoom(): boolean {
    if (this.consumer.congested === true) return false;
    return this.prefetch === 0 || this.pending.size < this.prefetch;
  }
}

type Entry = QueueEntry<BrokerSubscription>;
type Queue = QueueState<BrokerSubscription>;

/** A topic message published while the broker was busy delivering, waiting for its fan-out. */
class PendingFanout {
  constructor(
    readonly message: BrokerMessage,
    /** Only subscriptions with seq ≤ this existed when it was published. */
    readonly maxSeq: number,
  ) {}
}

function isWordChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || // 0-9
    (code >= 65 && code <= 90) || // A-Z
    (code >= 97 && code <= 122) || // a-z
    code === 95 || // _
    code === 45 // -
  );
}

function matchesPrefix(destination: string, prefix: string): boolean {
  if (!destination.startsWith(prefix)) return false;
  if (destination.length === prefix.length || prefix.length === 0) return true;
  if (!isWordChar(prefix.charCodeAt(prefix.length - 1))) return true;
  return !isWordChar(destination.charCodeAt(prefix.length));
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`SimpleBroker: ${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

function ignoreError(): void {}

function byPublishOrder(a: Entry, b: Entry): number {
  return a.seq - b.seq;
}

export class SimpleBroker implements Broker {
  private readonly queuePrefixes: readonly string[];
  private readonly maxQueueDepth: number;
  private readonly overflow: Overflow;
  private readonly maxDeliveries: number;
  private readonly deadLetterDestination: (destination: string) => string | null;
  private readonly defaultPrefetch: number;
  private readonly nextId: () => string;
  private readonly onConsumerError: (err: unknown, sessionId: string) => void;

  private readonly registry: SubscriptionRegistry<BrokerSubscription>;
  private readonly queues = new Map<string, Queue>();
  private readonly inFlight = new Map<string, Entry>();
  private readonly work = new Deque<Queue | PendingFanout>();
  /** Dead letters this broker created, so they are never dead-lettered again. */
  private readonly deadLetters = new WeakSet<BrokerMessage>();
  private busy = false;
  private subscriptionSeq = 0;
  private entrySeq = 0;
  private ackCounter = 0;
  private readonly ackPrefix: string;

  private published = 0;
  private delivered = 0;
  private redelivered = 0;
  private deadLettered = 0;
  private dropped = 0;

  constructor(options: SimpleBrokerOptions = {}) {
    this.queuePrefixes = [...(options.queuePrefixes ?? ['/queue'])];
    this.maxQueueDepth = checkCount('maxQueueDepth', options.maxQueueDepth ?? 10000, 0);
    this.overflow = options.queueOverflow ?? 'reject';
    if (!OVERFLOW_POLICIES.includes(this.overflow)) {
      throw new RangeError(`SimpleBroker: queueOverflow must be one of ${OVERFLOW_POLICIES.join(', ')}, got ${String(this.overflow)}`);
    }
    this.maxDeliveries = checkCount('maxDeliveries', options.maxDeliveries ?? 5, 1);
    this.deadLetterDestination = options.deadLetterDestination ?? ((d) => `${d}.dlq`);
    this.defaultPrefetch = checkCount('defaultPrefetch', options.defaultPrefetch ?? 0, 0);
    this.nextId = options.nextId ?? createIdGenerator();
    this.onConsumerError = options.onConsumerError ?? ignoreError;
    this.ackPrefix = (++brokerCount).toString(36) + '.';
    this.registry = new SubscriptionRegistry<BrokerSubscription>({
      separator: options.destinationSeparator ?? '/',
      patternCacheSize: options.patternCacheSize ?? 1024,
    });
  }

  /** True when `destination` is a wildcard pattern under `destinationSeparator`. */
  isPattern(destination: string): boolean {
    return this.registry.isPattern(destination);
  }

  /** True when `destination` has queue (competing-consumer) semantics under `queuePrefixes`. */
  isQueueDestination(destination: string): boolean {
    const prefixes = this.queuePrefixes;
    for (let i = 0; i < prefixes.length; i++) {
      if (matchesPrefix(destination, prefixes[i])) return true;
    }
    return false;
  }

  /**
   * Adds a subscription. On a queue, held messages are delivered to it before this returns. A
   * topic destination may be a wildcard pattern (see `destinationSeparator`).
   * Throws StompError STOMP_ERR_DUPLICATE_SUBSCRIPTION when the session already uses `spec.id`,
   * STOMP_ERR_BAD_HEADER for an unknown ack mode or a prefetch that is not an integer ≥ 0, and
   * STOMP_ERR_DESTINATION for a wildcard pattern on a queue destination.
   */
  subscribe(consumer: Consumer, spec: SubscriptionSpec): void {
    const sessionId = consumer.sessionId;
    if (this.registry.get(sessionId, spec.id) !== undefined) {
      throw new StompError('STOMP_ERR_DUPLICATE_SUBSCRIPTION', `subscription id "${spec.id}" is already in use in this session`);
    }
    if (!ACK_MODES.includes(spec.ack)) {
      throw new StompError('STOMP_ERR_BAD_HEADER', `invalid ack mode "${String(spec.ack)}"`);
    }
    const prefetchSpec = spec.prefetch ?? this.defaultPrefetch;
    if (!Number.isInteger(prefetchSpec) || prefetchSpec < 0) {
      throw new StompError('STOMP_ERR_BAD_HEADER', `invalid prefetch ${String(spec.prefetch)}: must be an integer ≥ 0`);
    }
    const isQueue = this.isQueueDestination(spec.destination);
    if (isQueue && this.registry.isPattern(spec.destination)) {
      throw new StompError(
        'STOMP_ERR_DESTINATION',
        `wildcards are not supported on queue destinations: '${spec.destination.length > 128 ? spec.destination.slice(0, 128) + '…' : spec.destination}'`,
      );
    }
    const queue = isQueue ? this.queueFor(spec.destination) : undefined;
    const prefetch = queue !== undefined && spec.ack !== 'auto' ? prefetchSpec : 0;
    const subscription = new BrokerSubscription(
      consumer, sessionId, spec.id, spec.destination, spec.ack, prefetch, spec.filter, queue, ++this.subscriptionSeq,
    );
    this.registry.add(subscription);
    if (queue !== undefined) {
      queue.addConsumer(subscription);
      this.schedule(queue);
      this.drain();
    }
  }

  /** Removes the subscription; its unacked queue deliveries go back to the head of the queue. */
  unsubscribe(sessionId: string, subscriptionId: string): boolean {
    const subscription = this.registry.remove(sessionId, subscriptionId);
    if (subscription === undefined) return false;
    const returning: Entry[] = [];
    this.close(subscription, returning);
    this.returnToQueues(returning);
    if (subscription.queue !== undefined) this.releaseIfIdle(subscription.queue);
    this.drain();
    return true;
  }

  /**
   * Publishes to a topic (every subscription, the sender's own included) or a queue (one
   * consumer, or held). Throws StompError STOMP_ERR_QUEUE_FULL when a queue is full under the
   * `'reject'` policy.
   */
  publish(message: BrokerMessage): void {
    const destination = message.destination;
    if (this.isQueueDestination(destination)) {
      this.publishToQueue(message);
      return;
    }
    this.published++;
    const subscribers = this.registry.subscribers(destination);
    const patternSubscribers = this.registry.patternSubscribers(destination);
    if (subscribers === undefined && patternSubscribers.length === 0) return;
    if (this.busy) {
      this.work.push(new PendingFanout(message, this.subscriptionSeq));
      return;
    }
    this.busy = true;
    try {
      this.fanoutAll(message, subscribers, patternSubscribers, this.subscriptionSeq);
      this.runWork();
    } finally {
      this.busy = false;
    }
  }

  /**
   * Acknowledges a delivery: in `client` mode also every earlier pending delivery of the same
   * subscription, in `client-individual` only this one. Returns false when the id is unknown,
   * already settled, or belongs to another session.
   */
  ack(sessionId: string, ackId: string): boolean {
    const entry = this.inFlight.get(ackId);
    const subscription = entry?.holder;
    if (entry === undefined || subscription === undefined || subscription.sessionId !== sessionId) return false;
    if (subscription.ack === 'client') {
      for (const settled of subscription.pending.values()) {
        this.settle(subscription, settled);
        if (settled === entry) break;
      }
    } else {
      this.settle(subscription, entry);
    }
    const queue = subscription.queue;
    if (queue !== undefined && subscription.prefetch !== 0) {
      // Room freed: held messages may now move.
      queue.blocked = 0;
      this.schedule(queue);
      this.drain();
    }
    return true;
  }

  /**
   * Negative acknowledgement, scoped like {@link ack}. Queue messages go back to the head of the
   * queue and are redelivered (preferably to another consumer), or dead-lettered once delivered
   * `maxDeliveries` times; topic messages are discarded. Returns false like {@link ack}.
   */
  nack(sessionId: string, ackId: string): boolean {
    const entry = this.inFlight.get(ackId);
    const subscription = entry?.holder;
    if (entry === undefined || subscription === undefined || subscription.sessionId !== sessionId) return false;
    const queue = subscription.queue;
    if (subscription.ack === 'client') {
      const returning: Entry[] = [];
      for (const settled of subscription.pending.values()) {
        this.settle(subscription, settled);
        if (queue !== undefined) returning.push(settled);
        if (settled === entry) break;
      }
      this.returnToQueues(returning);
    } else {
      this.settle(subscription, entry);
      if (queue !== undefined) this.returnToQueue(entry);
    }
    if (queue !== undefined) {
      // Room freed even when every nacked message was dead-lettered rather than returned.
      queue.blocked = 0;
      this.schedule(queue);
      this.drain();
    }
    return true;
  }

  /** The session is gone: drops its subscriptions and returns their unacked queue deliveries. */
  disconnect(sessionId: string): void {
    const subscriptions = this.registry.removeSession(sessionId);
    if (subscriptions.length === 0) return;
    const returning: Entry[] = [];
    for (let i = 0; i < subscriptions.length; i++) this.close(subscriptions[i], returning);
    this.returnToQueues(returning);
    for (let i = 0; i < subscriptions.length; i++) {
      const queue = subscriptions[i].queue;
      if (queue !== undefined) this.releaseIfIdle(queue);
    }
    this.drain();
  }

  /**
   * A congested consumer of this session (see Consumer.congested) has room again: its queues get
   * a dispatch pass, so held messages move to it.
   */
  resume(sessionId: string): void {
    for (const subscription of this.registry.sessionSubscriptions(sessionId)) {
      const queue = subscription.queue;
      if (queue !== undefined) {
        queue.blocked = 0;
        this.schedule(queue);
      }
    }
    this.drain();
  }

  /**
   * Counters since construction. `published` counts messages accepted by publish() (dead letters
   * count in `deadLettered` instead); `delivered` counts every delivery, redeliveries included;
   * `redelivered` those flagged redelivered; `dropped` counts messages lost to the overflow policy
   * and discarded dead letters.
   */
  stats(): BrokerStats {
    const queueDepths: Record<string, number> = {};
    for (const queue of this.queues.values()) {
      if (queue.held.length > 0) queueDepths[queue.destination] = queue.held.length;
    }
    return {
      subscriptions: this.registry.size,
      destinations: this.registry.destinationCount,
      queueDepths,
      unacked: this.inFlight.size,
      published: this.published,
      delivered: this.delivered,
      redelivered: this.redelivered,
      deadLettered: this.deadLettered,
      dropped: this.dropped,
      patterns: this.registry.patternStats(),
    };
  }

  // ---- publishing ---------------------------------------------------------------------------

  private publishToQueue(message: BrokerMessage): void {
    const queue = this.queueFor(message.destination);
    const entry: Entry = new QueueEntry(message, ++this.entrySeq);
    const held = queue.held;
    if (held.length >= this.maxQueueDepth) {
      // Full, but a consumer may still take this very message (by invariant 3 nothing held can
      // move, so delivering it now overtakes nobody).
      if (!this.busy) {
        const consumer = queue.pick(entry, this.accepts);
        if (consumer !== NO_ROOM && consumer !== NO_MATCH) {
          this.published++;
          this.busy = true;
          try {
            this.deliverQueued(consumer, entry);
            this.runWork();
          } finally {
            this.busy = false;
          }
          return;
        }
      }
      if (this.overflow === 'reject') {
        this.releaseIfIdle(queue);
        throw new StompError('STOMP_ERR_QUEUE_FULL', `queue ${message.destination} is full (${this.maxQueueDepth} messages held)`);
      }
      this.published++;
      this.dropped++;
      if (this.overflow === 'drop-newest' || held.length === 0) {
        this.releaseIfIdle(queue);
        return;
      }
      this.dropOldest(queue);
    } else {
      this.published++;
    }
    held.push(entry);
    this.schedule(queue);
    this.drain();
  }

  /**
   * Routes a message the broker made itself (a dead letter). Never throws and never delivers:
   * the caller drains. Returns false when the message was dropped (full queue).
   */
  private route(message: BrokerMessage): boolean {
    const destination = message.destination;
    if (this.isQueueDestination(destination)) {
      const queue = this.queueFor(destination);
      if (queue.held.length >= this.maxQueueDepth) {
        if (this.overflow !== 'drop-oldest' || queue.held.length === 0) {
          this.releaseIfIdle(queue);
          return false;
        }
        this.dropped++;
        this.dropOldest(queue);
      }
      queue.held.push(new QueueEntry(message, ++this.entrySeq));
      this.schedule(queue);
      return true;
    }
    if (this.registry.subscribers(destination) !== undefined || this.registry.patternSubscribers(destination).length > 0) {
      this.work.push(new PendingFanout(message, this.subscriptionSeq));
    }
    return true;
  }

  private dropOldest(queue: Queue): void {
    queue.held.shift();
    if (queue.blocked > 0) queue.blocked--;
  }

  // ---- the work loop ------------------------------------------------------------------------

  private schedule(queue: Queue): void {
    if (queue.scheduled) return;
    queue.scheduled = true;
    this.work.push(queue);
  }

  /** Runs the work list unless a call further up the stack is already running it (invariant 1). */
  private drain(): void {
    if (this.busy) return;
    this.busy = true;
    try {
      this.runWork();
    } finally {
      this.busy = false;
    }
  }

  private runWork(): void {
    let item: Queue | PendingFanout | undefined;
    while ((item = this.work.shift()) !== undefined) {
      if (item instanceof PendingFanout) {
        const destination = item.message.destination;
        this.fanoutAll(item.message, this.registry.subscribers(destination), this.registry.patternSubscribers(destination), item.maxSeq);
      } else {
        item.scheduled = false;
        this.dispatch(item);
      }
    }
  }

  /** Moves held messages to consumers with room, in order, skipping those nobody accepts. */
  private dispatch(queue: Queue): void {
    const held = queue.held;
    while (queue.blocked < held.length) {
      const index = queue.blocked;
      const entry = held.at(index) as Entry;
      const consumer = queue.pick(entry, this.accepts);
      if (consumer === NO_ROOM) {
        // Nobody has room: nothing held can move until an ack or a subscribe resets `blocked`.
        queue.blocked = held.length;
        break;
      }
      if (consumer === NO_MATCH) {
        queue.blocked = index + 1;
        continue;
      }
      if (consumer.closed) continue; // a filter unsubscribed it; pick again
      held.removeAt(index);
      // deliver() may re-enter (ack, nack, publish...): the loop re-reads `blocked` and `held`.
      this.deliverQueued(consumer, entry);
    }
    this.releaseIfIdle(queue);
  }

  /** Fans out to the exact subscribers, then to each matching pattern's (invariant 6). */
  private fanoutAll(
    message: BrokerMessage,
    subscribers: ReadonlySet<BrokerSubscription> | undefined,
    patternSubscribers: ReadonlyArray<ReadonlySet<BrokerSubscription>>,
    maxSeq: number,
  ): void {
    if (subscribers !== undefined) this.fanout(message, subscribers, maxSeq);
    // The array is copy-on-write (the registry replaces, never edits, it), so iterating it while
    // a consumer subscribes or unsubscribes a pattern is safe.
    for (let i = 0; i < patternSubscribers.length; i++) this.fanout(message, patternSubscribers[i], maxSeq);
  }

  private fanout(message: BrokerMessage, subscribers: ReadonlySet<BrokerSubscription>, maxSeq: number): void {
    // The Set is live: members removed by a re-entrant unsubscribe are not visited, members added
    // are skipped by their sequence number (invariant 5).
    for (const subscription of subscribers) {
      if (subscription.seq > maxSeq) continue;
      if (subscription.filter !== undefined && !this.accepts(subscription, message)) continue;
      let ackId: string | undefined;
      if (subscription.ack !== 'auto') {
        ackId = this.ackPrefix + (++this.ackCounter).toString(36);
        const entry: Entry = new QueueEntry(message, 0);
        entry.deliveries = 1;
        entry.ackId = ackId;
        entry.holder = subscription;
        subscription.awaitAck(ackId, entry);
        this.inFlight.set(ackId, entry);
      }
      this.delivered++;
      this.invoke(subscription, { message, subscriptionId: subscription.id, ackId, redelivered: false });
    }
  }

  private deliverQueued(subscription: BrokerSubscription, entry: Entry): void {
    const redelivered = entry.deliveries > 0;
    entry.deliveries++;
    entry.holder = subscription;
    let ackId: string | undefined;
    if (subscription.ack !== 'auto') {
      ackId = this.ackPrefix + (++this.ackCounter).toString(36);
      entry.ackId = ackId;
      subscription.awaitAck(ackId, entry);
      this.inFlight.set(ackId, entry);
    }
    this.delivered++;
    if (redelivered) this.redelivered++;
    this.invoke(subscription, { message: entry.message, subscriptionId: subscription.id, ackId, redelivered });
  }

  private invoke(subscription: BrokerSubscription, delivery: Delivery): void {
    try {
      subscription.consumer.deliver(delivery);
    } catch (err) {
      this.report(err, subscription.sessionId);
    }
  }

  /** Whether the subscription's filter accepts the message; a throwing filter rejects it. */
  private readonly accepts = (subscription: BrokerSubscription, message: BrokerMessage): boolean => {
    const filter = subscription.filter;
    if (filter === undefined) return true;
    try {
      return filter(message) === true;
    } catch (err) {
      this.report(err, subscription.sessionId);
      return false;
    }
  };

  private report(err: unknown, sessionId: string): void {
    try {
      this.onConsumerError(err, sessionId);
    } catch {
      // The error hook itself failed; there is nowhere left to report it, and delivery must go on.
    }
  }

  // ---- settling, returning, dead-lettering --------------------------------------------------

  /** Takes a delivery out of the pending bookkeeping (ACK, NACK). */
  private settle(subscription: BrokerSubscription, entry: Entry): void {
    const ackId = entry.ackId as string;
    subscription.pending.delete(ackId);
    this.inFlight.delete(ackId);
    entry.ackId = undefined;
  }

  /** Marks a removed subscription closed and collects its unacked queue deliveries. */
  private close(subscription: BrokerSubscription, returning: Entry[]): void {
    subscription.closed = true;
    const queue = subscription.queue;
    for (const entry of subscription.pending.values()) {
      this.inFlight.delete(entry.ackId as string);
      entry.ackId = undefined;
      if (queue !== undefined) returning.push(entry);
    }
    if (subscription.pending.size > 0) subscription.pending.clear();
    if (queue !== undefined) queue.removeConsumer(subscription);
  }

  /**
   * Puts delivered queue entries back at the head of their queues in publish order (each entry's
   * queue is its holder's), dead-lettering those already delivered `maxDeliveries` times.
   */
  private returnToQueues(entries: Entry[]): void {
    if (entries.length === 0) return;
    if (entries.length === 1) {
      this.returnToQueue(entries[0]);
      return;
    }
    entries.sort(byPublishOrder);
    // Unshift newest first so the batch ends up at the head oldest first.
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i];
      if (entry.deliveries < this.maxDeliveries) this.requeue(entry);
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.deliveries >= this.maxDeliveries) this.deadLetter(entry);
    }
  }

  private returnToQueue(entry: Entry): void {
    if (entry.deliveries < this.maxDeliveries) this.requeue(entry);
    else this.deadLetter(entry);
  }

  private requeue(entry: Entry): void {
    const queue = (entry.holder as BrokerSubscription).queue as Queue;
    queue.held.unshift(entry);
    queue.blocked = 0;
    this.schedule(queue);
  }

  private deadLetter(entry: Entry): void {
    const original = entry.message;
    const origin = original.destination;
    let target: string | null = null;
    if (!this.deadLetters.has(original)) {
      try {
        target = this.deadLetterDestination(origin);
      } catch (err) {
        this.report(err, entry.holder?.sessionId ?? '');
      }
    }
    if (target === null || target === origin) {
      this.dropped++;
      return;
    }
    const headers: HeaderList = [];
    for (const h of original.headers) if (h[0] !== ORIGINAL_DESTINATION) headers.push(h);
    headers.push([ORIGINAL_DESTINATION, origin]);
    const letter: BrokerMessage =
      original.contentType === undefined
        ? { id: this.nextId(), destination: target, headers, body: original.body }
        : { id: this.nextId(), destination: target, headers, body: original.body, contentType: original.contentType };
    this.deadLetters.add(letter);
    if (this.route(letter)) this.deadLettered++;
    else this.dropped++;
  }

  // ---- queue bookkeeping --------------------------------------------------------------------

  private queueFor(destination: string): Queue {
    let queue = this.queues.get(destination);
    if (queue === undefined) {
      queue = new QueueState(destination);
      this.queues.set(destination, queue);
    }
    return queue;
  }

  /** Forgets a queue with no consumers and nothing held (a later use recreates it). */
  private releaseIfIdle(queue: Queue): void {
    if (queue.idle && !queue.scheduled && this.queues.get(queue.destination) === queue) {
      this.queues.delete(queue.destination);
    }
  }
}
