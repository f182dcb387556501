/**
 * The two-way subscription index, shaped like socket.io-adapter's `rooms`/`sids` maps:
 *
 * - `byDestination`: destination → Set of subscriptions, so a publish finds its subscribers with one
 *   Map look-up and never scans unrelated subscriptions;
 * - `bySession`: session id → (subscription id → subscription), so SUBSCRIBE can refuse a duplicate
 *   id, UNSUBSCRIBE finds its subscription, and a disconnect removes all of a session's
 *   subscriptions in O(its subscriptions). A session with one subscription (the common case) maps
 *   to that subscription itself; the inner Map exists from the second on (~180 bytes saved per
 *   connection).
 *
 * Both maps hold the same objects; empty inner collections are deleted at once, so
 * `destinationCount` is the number of destinations with at least one subscription.
 *
 * Sets iterate in insertion order and tolerate deletion during iteration (a deleted member is not
 * visited), which is what lets the broker fan out over a live Set while a consumer unsubscribes.
 *
 * Patterns: a subscription whose destination is a wildcard pattern (`/topic/a/*`, `/topic/**`,
 * see pattern-index.ts) is kept in a {@link PatternIndex} beside `byDestination` instead: a segment
 * trie plus a bounded cache destination → matching pattern subscriber Sets. A publish asks
 * {@link SubscriptionRegistry.subscribers} (exact, one Map look-up) and
 * {@link SubscriptionRegistry.patternSubscribers} (a cache hit, or one trie walk); a subscription
 * is in exactly one of those Sets, so no subscription is found twice.
 */

import { PatternIndex } from './pattern-index';
import type { DestinationSeparator } from './pattern-index';

/** What the registry needs to know about a subscription. */
export interface RegistryEntry {
  readonly sessionId: string;
  /** Unique within its session. */
  readonly id: string;
  readonly destination: string;
}

export interface SubscriptionRegistryOptions {
  /** Segment separator for wildcard patterns: '/' or '.'. Default '/'. */
  separator?: DestinationSeparator;
  /** Destinations whose pattern matches are cached (approximately LRU); 0 = no cache. Default 1024. */
  patternCacheSize?: number;
}

export class SubscriptionRegistry<S extends RegistryEntry = RegistryEntry> {
  private readonly byDestination = new Map<string, Set<S>>();
  private readonly bySession = new Map<string, S | Map<string, S>>();
  private readonly patterns: PatternIndex<S>;
  private count = 0;

  constructor(options: SubscriptionRegistryOptions = {}) {
    this.patterns = new PatternIndex<S>({ separator: options.separator, cacheSize: options.patternCacheSize });
  }

  /** Number of subscriptions. */
  get size(): number {
    return this.count;
  }

  /** Number of destinations (exact names and distinct patterns) with at least one subscription. */
  get destinationCount(): number {
    return this.byDestination.size + this.patterns.size;
  }

  /** The segment separator patterns are read with. */
  get separator(): DestinationSeparator {
    return this.patterns.separator;
  }

  /** True when `destination` is a wildcard pattern (has a `*` or `**` segment). */
  isPattern(destination: string): boolean {
    return this.patterns.isPattern(destination);
  }

  /** Adds `subscription`; returns false (and changes nothing) when its session already uses its id. */
  add(subscription: S): boolean {
    const sessionId = subscription.sessionId;
    const own = this.bySession.get(sessionId);
    if (own === undefined) {
      this.bySession.set(sessionId, subscription);
    } else if (own instanceof Map) {
      if (own.has(subscription.id)) return false;
      own.set(subscription.id, subscription);
    } else {
      if (own.id === subscription.id) return false;
      this.bySession.set(sessionId, new Map([[own.id, own], [subscription.id, subscription]]));
    }
    this.count++;
    if (this.patterns.isPattern(subscription.destination)) {
      this.patterns.add(subscription.destination, subscription);
      return true;
    }
    let subscribers = this.byDestination.get(subscription.destination);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.byDestination.set(subscription.destination, subscribers);
    }
    subscribers.add(subscription);
    return true;
  }

  get(sessionId: string, subscriptionId: string): S | undefined {
    const own = this.bySession.get(sessionId);
    if (own === undefined) return undefined;
    if (own instanceof Map) return own.get(subscriptionId);
    return own.id === subscriptionId ? own : undefined;
  }

  /** Removes and returns the session's subscription `subscriptionId`, if it has one. */
  remove(sessionId: string, subscriptionId: string): S | undefined {
    const own = this.bySession.get(sessionId);
    if (own === undefined) return undefined;
    let subscription: S | undefined;
    if (own instanceof Map) {
      subscription = own.get(subscriptionId);
      if (subscription === undefined) return undefined;
      own.delete(subscriptionId);
      if (own.size === 0) this.bySession.delete(sessionId);
    } else {
      if (own.id !== subscriptionId) return undefined;
      subscription = own;
      this.bySession.delete(sessionId);
    }
    this.unindex(subscription);
    this.count--;
    return subscription;
  }

  /** Removes every subscription of the session and returns them in subscription order. */
  removeSession(sessionId: string): S[] {
    const removed = this.sessionSubscriptions(sessionId);
    if (removed.length === 0) return removed;
    this.bySession.delete(sessionId);
    for (let i = 0; i < removed.length; i++) this.unindex(removed[i]);
    this.count -= removed.length;
    return removed;
  }

  /**
   * The live set of subscriptions to exactly `destination` (undefined when there are none). Callers
   * must not mutate it; it may change while they iterate it if they call back into the registry.
   */
  subscribers(destination: string): ReadonlySet<S> | undefined {
    return this.byDestination.get(destination);
  }

  /**
   * The live subscriber Sets of every pattern matching `destination` (empty when none): cached per
   * destination, invalidated precisely when a pattern gains its first or loses its last subscriber.
   * Callers must not mutate the array or the Sets; the array is never changed in place.
   */
  patternSubscribers(destination: string): ReadonlyArray<ReadonlySet<S>> {
    return this.patterns.match(destination);
  }

  /** Distinct patterns, destinations in the pattern cache, and cache hits / misses since construction. */
  patternStats(): { patterns: number; cached: number; hits: number; misses: number } {
    const { size, hits, misses } = this.patterns.cacheStats();
    return { patterns: this.patterns.size, cached: size, hits, misses };
  }

  /** The session's subscriptions in subscription order (a new array; empty when it has none). */
  sessionSubscriptions(sessionId: string): S[] {
    const own = this.bySession.get(sessionId);
    if (own === undefined) return [];
    return own instanceof Map ? Array.from(own.values()) : [own];
  }

  /** Destinations (exact names, then patterns) with at least one subscription. */
  *destinations(): IterableIterator<string> {
    yield* this.byDestination.keys();
    yield* this.patterns.keys();
  }

  private unindex(subscription: S): void {
    if (this.patterns.isPattern(subscription.destination)) {
      this.patterns.remove(subscription.destination, subscription);
      return;
    }
    const subscribers = this.byDestination.get(subscription.destination);
    if (subscribers === undefined) return;
    subscribers.delete(subscription);
    if (subscribers.size === 0) this.byDestination.delete(subscription.destination);
  }
}
