import fc from 'fast-check';
import { SimpleBroker } from '../../src/broker/simple-broker';
import type { SimpleBrokerOptions } from '../../src/broker/simple-broker';
import { createIdGenerator } from '../../src/broker/message-id';
import type { AckMode, BrokerMessage, Delivery } from '../../src/broker/types';
import { isStompError } from '../../src/errors';

/**
 * Drives a SimpleBroker with random sequences of subscribe / unsubscribe / publish / ack / nack /
 * disconnect, with in-process consumers that may ACK or NACK synchronously from deliver(), and
 * checks the broker against a small model after every step. Topic subscriptions include wildcard
 * patterns, checked against a naive matcher: every topic publish must reach exactly the matching
 * subscriptions, each once.
 */

const SESSIONS = ['s0', 's1', 's2'] as const;
const SUB_IDS = ['x', 'y'] as const;
const DESTINATIONS = ['/queue/a', '/queue/b', '/queue/a.dlq', '/topic/t', '/topic/u/v', '/topic/*', '/topic/**', '/topic/*/v', '/queue/*'] as const;

/** Naive wildcard matching ('/' separator): `*` one non-empty segment, `**` any number. */
function refMatch(pattern: string[], destination: string[]): boolean {
  if (pattern.length === 0) return destination.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') return refMatch(rest, destination) || (destination.length > 0 && refMatch(pattern, destination.slice(1)));
  if (destination.length === 0) return false;
  return (head === '*' ? destination[0] !== '' : head === destination[0]) && refMatch(rest, destination.slice(1));
}

function isPattern(destination: string): boolean {
  return destination.split('/').some((s) => s === '*' || s === '**');
}

function matches(subscribed: string, published: string): boolean {
  return isPattern(subscribed) ? refMatch(subscribed.split('/'), published.split('/')) : subscribed === published;
}
type Behaviour = 'passive' | 'ack' | 'nack';

type Op =
  | { kind: 'subscribe'; session: number; sub: number; destination: number; ack: AckMode; prefetch: number; filtered: boolean }
  | { kind: 'unsubscribe'; session: number; sub: number }
  | { kind: 'publish'; destination: number }
  | { kind: 'ack' | 'nack'; session: number; pick: number; own: boolean }
  | { kind: 'disconnect'; session: number }
  | { kind: 'behave'; session: number; behaviour: Behaviour };

const session = fc.integer({ min: 0, max: SESSIONS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('subscribe' as const),
    session,
    sub: fc.integer({ min: 0, max: SUB_IDS.length - 1 }),
    destination: fc.integer({ min: 0, max: DESTINATIONS.length - 1 }),
    ack: fc.constantFrom<AckMode>('auto', 'client', 'client-individual'),
    prefetch: fc.integer({ min: 0, max: 2 }),
    filtered: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('unsubscribe' as const), session, sub: fc.integer({ min: 0, max: SUB_IDS.length - 1 }) }),
  fc.record({ kind: fc.constant('publish' as const), destination: fc.integer({ min: 0, max: DESTINATIONS.length - 1 }) }),
  fc.record({ kind: fc.constant('publish' as const), destination: fc.integer({ min: 0, max: DESTINATIONS.length - 1 }) }),
  fc.record({
    kind: fc.constantFrom('ack' as const, 'nack' as const),
    session,
    pick: fc.integer({ min: 0, max: 12 }),
    own: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('ack' as const), session, pick: fc.integer({ min: 0, max: 3 }), own: fc.constant(true) }),
  fc.record({ kind: fc.constant('disconnect' as const), session }),
  fc.record({ kind: fc.constant('behave' as const), session, behaviour: fc.constantFrom<Behaviour>('passive', 'ack', 'nack') }),
);

const optionsArb = fc.record({
  maxQueueDepth: fc.integer({ min: 0, max: 3 }),
  queueOverflow: fc.constantFrom('reject' as const, 'drop-oldest' as const, 'drop-newest' as const),
  maxDeliveries: fc.integer({ min: 1, max: 3 }),
});

/** Accepts messages whose id ends in an even base-36 digit (dead letters included). */
function acceptsEven(message: BrokerMessage): boolean {
  return parseInt(message.id.slice(-1), 36) % 2 === 0;
}

interface ModelSub {
  key: string;
  session: string;
  id: string;
  destination: string;
  ack: AckMode;
  prefetch: number;
  queue: boolean;
  filtered: boolean;
  /** Outstanding ack ids in delivery order. */
  outstanding: string[];
}

interface Outstanding {
  sub: ModelSub;
  messageId: string;
}

function run(options: SimpleBrokerOptions, ops: Op[]): void {
  // Assertions failing inside deliver() are caught by the broker: collect them and rethrow.
  const consumerErrors: unknown[] = [];
  const broker = new SimpleBroker({ ...options, nextId: createIdGenerator('dl'), onConsumerError: (err) => consumerErrors.push(err) });
  const ids = createIdGenerator('m');
  const subs = new Map<string, ModelSub>(); // `${session}/${id}` → current subscription
  const outstanding = new Map<string, Outstanding>();
  const seenAckIds = new Set<string>();
  const everDelivered = new Set<string>();
  const publishIndex = new Map<string, number>();
  const lastFresh = new Map<string, number>();
  const behaviour = new Map<string, Behaviour>();
  /** Model keys of the subscriptions each topic message reached. */
  const topicReached = new Map<string, string[]>();
  let queuePublished = 0;
  let completed = 0;
  let generation = 0;
  let anyFilter = false;

  const settle = (ackId: string, completes: boolean): void => {
    const o = outstanding.get(ackId);
    if (o === undefined) return;
    outstanding.delete(ackId);
    o.sub.outstanding.splice(o.sub.outstanding.indexOf(ackId), 1);
    if (completes && o.sub.queue) completed++;
  };

  const settleScope = (sessionId: string, ackId: string, positive: boolean): boolean => {
    const o = outstanding.get(ackId);
    const expected = o !== undefined && o.sub.session === sessionId;
    const scope = expected ? (o.sub.ack === 'client' ? o.sub.outstanding.slice(0, o.sub.outstanding.indexOf(ackId) + 1) : [ackId]) : [];
    // Settle in the model first: the broker settles before it redelivers anything.
    for (const id of scope) settle(id, positive);
    const result = positive ? broker.ack(sessionId, ackId) : broker.nack(sessionId, ackId);
    expect(result).toBe(expected);
    return result;
  };

  const consumerFor = (sessionId: string) => ({
    sessionId,
    deliver(delivery: Delivery): void {
      const sub = subs.get(`${sessionId}/${delivery.subscriptionId}`);
      expect(sub).toBeDefined();
      const s = sub as ModelSub;
      const message = delivery.message;
      if (s.queue) expect(message.destination).toBe(s.destination);
      else {
        expect(matches(s.destination, message.destination)).toBe(true);
        const reached = topicReached.get(message.id) ?? [];
        reached.push(s.key);
        topicReached.set(message.id, reached);
      }
      if (s.queue) {
        // Exactly one consumer at a time, redelivered flag truthful, fresh messages in publish order.
        for (const o of outstanding.values()) expect(o.messageId).not.toBe(message.id);
        expect(delivery.redelivered).toBe(everDelivered.has(message.id));
        everDelivered.add(message.id);
        const index = publishIndex.get(message.id);
        if (s.filtered) expect(acceptsEven(message)).toBe(true);
        if (!delivery.redelivered && index !== undefined && !anyFilter) {
          expect(index).toBeGreaterThan(lastFresh.get(s.destination) ?? -1);
          lastFresh.set(s.destination, index);
        }
      }
      if (s.ack === 'auto') {
        expect(delivery.ackId).toBeUndefined();
        if (s.queue) completed++;
      } else {
        const ackId = delivery.ackId as string;
        expect(typeof ackId).toBe('string');
        expect(seenAckIds.has(ackId)).toBe(false);
        seenAckIds.add(ackId);
        outstanding.set(ackId, { sub: s, messageId: message.id });
        s.outstanding.push(ackId);
        if (s.queue && s.prefetch > 0) expect(s.outstanding.length).toBeLessThanOrEqual(s.prefetch);
        const b = behaviour.get(sessionId) ?? 'passive';
        if (b !== 'passive') settleScope(sessionId, ackId, b === 'ack');
      }
    },
  });
  const consumers = new Map(SESSIONS.map((s) => [s, consumerFor(s)]));

  const dropSub = (s: ModelSub): void => {
    for (const ackId of [...s.outstanding]) settle(ackId, false);
    subs.delete(`${s.session}/${s.id}`);
  };

  for (const op of ops) {
    switch (op.kind) {
      case 'subscribe': {
        const sessionId = SESSIONS[op.session];
        const id = SUB_IDS[op.sub];
        const destination = DESTINATIONS[op.destination];
        const key = `${sessionId}/${id}`;
        const duplicate = subs.has(key);
        const queue = broker.isQueueDestination(destination);
        const refused = !duplicate && queue && isPattern(destination);
        const model: ModelSub = {
          key: `${key}#${++generation}`, session: sessionId, id, destination, ack: op.ack,
          prefetch: queue && op.ack !== 'auto' ? op.prefetch : 0, queue, filtered: op.filtered, outstanding: [],
        };
        if (!duplicate && !refused) {
          subs.set(key, model);
          // Filters let later messages overtake held ones nobody accepts: the fresh-order check no longer holds.
          anyFilter ||= op.filtered && queue;
        }
        let code: string | undefined;
        try {
          broker.subscribe(consumers.get(sessionId)!, {
            id, destination, ack: op.ack, prefetch: op.prefetch, filter: op.filtered ? acceptsEven : undefined,
          });
        } catch (err) {
          code = isStompError(err) ? err.code : String(err);
        }
        expect(code).toBe(duplicate ? 'STOMP_ERR_DUPLICATE_SUBSCRIPTION' : refused ? 'STOMP_ERR_DESTINATION' : undefined);
        break;
      }
      case 'unsubscribe': {
        const key = `${SESSIONS[op.session]}/${SUB_IDS[op.sub]}`;
        const s = subs.get(key);
        if (s !== undefined) dropSub(s);
        expect(broker.unsubscribe(SESSIONS[op.session], SUB_IDS[op.sub])).toBe(s !== undefined);
        break;
      }
      case 'publish': {
        const destination = DESTINATIONS[op.destination];
        const id = ids();
        publishIndex.set(id, publishIndex.size);
        const expectedReach = [...subs.values()]
          .filter((s) => !s.queue && matches(s.destination, destination) && (!s.filtered || acceptsEven({ id } as BrokerMessage)))
          .map((s) => s.key);
        try {
          broker.publish({ id, destination, headers: [], body: Buffer.from(id) });
          if (broker.isQueueDestination(destination)) queuePublished++;
          else expect((topicReached.get(id) ?? []).sort()).toEqual(expectedReach.sort());
        } catch (err) {
          expect(isStompError(err) && err.code).toBe('STOMP_ERR_QUEUE_FULL');
          expect(options.queueOverflow).toBe('reject');
        }
        break;
      }
      case 'ack':
      case 'nack': {
        const all = [...outstanding.keys()];
        const ackId = op.pick < all.length ? all[op.pick] : `bogus-${op.pick}`;
        // Mostly the owner (valid), sometimes any session (usually another one's id: refused).
        const owner = outstanding.get(ackId)?.sub.session;
        const sessionId = op.own && owner !== undefined ? owner : SESSIONS[op.session];
        settleScope(sessionId, ackId, op.kind === 'ack');
        break;
      }
      case 'disconnect': {
        const sessionId = SESSIONS[op.session];
        for (const s of [...subs.values()]) if (s.session === sessionId) dropSub(s);
        broker.disconnect(sessionId);
        break;
      }
      case 'behave':
        behaviour.set(SESSIONS[op.session], op.behaviour);
        break;
    }

    if (consumerErrors.length > 0) throw consumerErrors[0];
    const stats = broker.stats();
    expect(stats.unacked).toBe(outstanding.size);
    expect(stats.subscriptions).toBe(subs.size);
    expect(stats.destinations).toBe(new Set([...subs.values()].map((s) => s.destination)).size);
    const held = Object.values(stats.queueDepths).reduce((a, b) => a + b, 0);
    const inFlight = [...outstanding.values()].filter((o) => o.sub.queue).length;
    // Every accepted queue message is held, in flight, done, or counted as dropped; dead letters
    // replace their original one for one.
    expect(completed + stats.dropped + held + inFlight).toBe(queuePublished);
    // Idle broker: a queue only holds messages when none of its unfiltered consumers has room.
    for (const [destination, depth] of Object.entries(stats.queueDepths)) {
      expect(depth).toBeGreaterThan(0);
      for (const s of subs.values()) {
        if (s.destination !== destination || s.filtered) continue;
        expect(s.prefetch).toBeGreaterThan(0);
        expect(s.outstanding.length).toBe(s.prefetch);
      }
    }
  }
}

describe('SimpleBroker under random operation sequences', () => {
  it('keeps acks, deliveries, queue depths and counters consistent with a model', () => {
    fc.assert(
      fc.property(optionsArb, fc.array(opArb, { minLength: 5, maxLength: 60, size: 'max' }), (options, ops) => run(options, ops)),
      { numRuns: 400, seed: 20240611 },
    );
  });

  it('stays consistent with fresh random seeds', () => {
    fc.assert(fc.property(optionsArb, fc.array(opArb, { minLength: 5, maxLength: 80, size: 'max' }), (options, ops) => run(options, ops)), { numRuns: 200 });
  });
});
