/**
 * Per-queue state for the in-memory broker: the messages held while nobody can take them, the
 * competing consumers, and the round-robin cursor over them.
 *
 * - `held` is a ring-buffer {@link Deque} of {@link QueueEntry}: new messages go to the tail,
 *   messages coming back (NACK, consumer gone) go to the head, so a redelivery overtakes messages
 *   that were never delivered (DESIGN.md "Semantics we chose": unacked deliveries return to the head).
 * - `consumers` is in subscription order; {@link QueueState.pick} walks it from `cursor`, so
 *   successive messages go to successive consumers that have room (round robin), and a message
 *   coming back prefers a consumer other than the one that gave it back.
 * - `blocked` counts held entries at the head that are known to have no candidate consumer under
 *   the current consumers and their prefetch room. Publishing only appends, so a publish never has
 *   to look at them again; whatever can give one of them a candidate (a subscription, an ack that
 *   frees room, entries returned to the head) resets it to 0. Without filters "no candidate" only
 *   ever means "nobody has room", so dispatch stops at the first held entry and costs O(1) per
 *   message; with filters a message nobody accepts is skipped and does not block the ones behind it.
 *
 * The broker owns the policy (overflow, dead-lettering, acks); this module is just the data.
 */
import type { BrokerMessage } from './types';

const MIN_CAPACITY = 16;
/** An empty deque whose buffer grew past this is shrunk back, so a burst does not pin memory. */
const SHRINK_CAPACITY = 1024;

/**
 * A double-ended FIFO over a power-of-two ring buffer: O(1) push/unshift/shift and indexed reads,
 * no per-operation allocation (an array's `shift()` is O(n) once V8 leaves fast mode).
 */
export class Deque<T> {
  private buf: Array<T | undefined> = new Array<T | undefined>(MIN_CAPACITY);
  private head = 0;
  private len = 0;

  get length(): number {
    return this.len;
  }

  push(value: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & (this.buf.length - 1)] = value;
    this.len++;
  }

  unshift(value: T): void {
    if (this.len === this.buf.length) this.grow();
    this.head = (this.head - 1) & (this.buf.length - 1);
    this.buf[this.head] = value;
    this.len++;
  }

  shift(): T | undefined {
    if (this.len === 0) return undefined;
    const value = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.len--;
    if (this.len === 0) this.reset();
    return value;
  }

  /** The element `index` places from the head (0 = head); undefined when out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.len) return undefined;
    return this.buf[(this.head + index) & (this.buf.length - 1)];
  }

  /** Removes and returns the element at `index`; O(1) at the head, O(length - index) elsewhere. */
  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.len) return undefined;
    if (index === 0) return this.shift();
    const mask = this.buf.length - 1;
    const value = this.buf[(this.head + index) & mask];
    for (let i = index; i < this.len - 1; i++) {
      this.buf[(this.head + i) & mask] = this.buf[(this.head + i + 1) & mask];
    }
    this.buf[(this.head + this.len - 1) & mask] = undefined;
    this.len--;
    return value;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.len = 0;
    this.reset();
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.len; i++) yield this.buf[(this.head + i) & (this.buf.length - 1)] as T;
  }

  /** Called when empty: every slot is already cleared, so only the head moves (and a big buffer goes). */
  private reset(): void {
    this.head = 0;
    if (this.buf.length > SHRINK_CAPACITY) this.buf = new Array<T | undefined>(MIN_CAPACITY);
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.buf = next;
    this.head = 0;
  }
}

/** A queue consumer as the queue sees it: it only needs to know whether it can take one more. */
export interface QueueConsumer {
  hasRoom(): boolean;
}

/**
 * One message on its way through the broker. A queue message keeps the same entry from publish to
 * its final ACK (held → in flight → maybe held again), so redelivery allocates nothing and the
 * delivery count travels with it. The broker also uses entries to track client-ack topic deliveries
 * awaiting ACK (one entry per such delivery, never held).
 */
export class QueueEntry<C> {
  /** How many times the message has been handed to a consumer. */
  deliveries = 0;
  /** The ack id of the current delivery while it awaits ACK/NACK; undefined otherwise. */
  ackId: string | undefined = undefined;
  /** The subscription it is in flight to, or was last delivered to while it is held again. */
  holder: C | undefined = undefined;

  constructor(
    readonly message: BrokerMessage,
    /** Broker-wide publish order, so entries returned together go back in their original order. */
    readonly seq: number,
  ) {}
}

/** {@link QueueState.pick} results when no consumer is returned. */
export const NO_ROOM: unique symbol = Symbol('no-room');
export const NO_MATCH: unique symbol = Symbol('no-match');

export class QueueState<C extends QueueConsumer> {
  /** Messages waiting for a consumer, oldest (or returned) first. */
  readonly held = new Deque<QueueEntry<C>>();
  /** Competing consumers in subscription order. */
  readonly consumers: C[] = [];
  /** Leading held entries known to have no candidate consumer (see the file comment). */
  blocked = 0;
  /** True while the queue sits in the broker's work list waiting for a dispatch pass. */
  scheduled = false;
  private cursor = 0;

  constructor(readonly destination: string) {}

  /** True when the state holds nothing worth keeping (no consumers, no held messages). */
  get idle(): boolean {
    return this.consumers.length === 0 && this.held.length === 0;
  }

  addConsumer(consumer: C): void {
    this.consumers.push(consumer);
    this.blocked = 0;
  }

  removeConsumer(consumer: C): boolean {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return false;
    this.consumers.splice(index, 1);
    // Keep the cursor on the consumer that was next, so round robin does not skip anyone.
    if (index < this.cursor) this.cursor--;
    if (this.cursor >= this.consumers.length) this.cursor = 0;
    return true;
  }

  /**
   * The consumer that should receive `entry` next: the first one from the cursor that has room and
   * whose filter `accepts` the message, passing over the consumer that last held the entry when
   * another candidate exists. Advances the cursor past the chosen consumer. Returns NO_ROOM when
   * no consumer has room (so no held message can move either) and NO_MATCH when some have room but
   * none accepts this message.
   */
  pick(entry: QueueEntry<C>, accepts: (consumer: C, message: BrokerMessage) => boolean): C | typeof NO_ROOM | typeof NO_MATCH {
    const consumers = this.consumers;
    const n = consumers.length;
    let start = this.cursor;
    if (start >= n) start = 0;
    let sawRoom = false;
    let fallback = -1;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      const consumer = consumers[i];
      // A filter that (wrongly) unsubscribes can shrink the array under us.
      if (consumer === undefined || !consumer.hasRoom()) continue;
      sawRoom = true;
      if (!accepts(consumer, entry.message)) continue;
      if (consumer === entry.holder && n > 1) {
        if (fallback < 0) fallback = i;
        continue;
      }
      this.cursor = i + 1;
      return consumer;
    }
    if (fallback >= 0 && consumers[fallback] !== undefined) {
      this.cursor = fallback + 1;
      return consumers[fallback];
    }
    return sawRoom ? NO_MATCH : NO_ROOM;
  }
}
