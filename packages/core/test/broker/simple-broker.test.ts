import { SimpleBroker } from '../../src/broker/simple-broker';
import type { SimpleBrokerOptions } from '../../src/broker/simple-broker';
import { createIdGenerator } from '../../src/broker/message-id';
import type { AckMode, BrokerMessage, Consumer, Delivery } from '../../src/broker/types';
import { StompError } from '../../src/errors';
import type { HeaderList } from '../../src/codec/frame';

/** An in-process consumer that records what it receives and may react synchronously. */
class Recorder implements Consumer {
  readonly deliveries: Delivery[] = [];
  onDeliver: ((delivery: Delivery) => void) | undefined;

  constructor(readonly sessionId: string, onDeliver?: (delivery: Delivery) => void) {
    this.onDeliver = onDeliver;
  }

  deliver(delivery: Delivery): void {
    this.deliveries.push(delivery);
    this.onDeliver?.(delivery);
  }

  bodies(): string[] {
    return this.deliveries.map((d) => d.message.body.toString());
  }

  last(): Delivery {
    const d = this.deliveries[this.deliveries.length - 1];
    if (d === undefined) throw new Error(`${this.sessionId} received nothing`);
    return d;
  }

  ackIds(): string[] {
    return this.deliveries.map((d) => d.ackId as string);
  }
}

const nextId = createIdGenerator('test');

function msg(destination: string, body: string, headers: HeaderList = [], senderSessionId?: string): BrokerMessage {
  return { id: nextId(), destination, headers, body: Buffer.from(body), contentType: 'text/plain', senderSessionId };
}

function publishAll(broker: SimpleBroker, destination: string, bodies: string[]): void {
  for (const body of bodies) broker.publish(msg(destination, body));
}

function range(prefix: string, n: number, from = 1): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i + from}`);
}

function sub(broker: SimpleBroker, consumer: Consumer, id: string, destination: string, ack: AckMode = 'auto', prefetch?: number): void {
  broker.subscribe(consumer, { id, destination, ack, prefetch });
}

function newBroker(options: SimpleBrokerOptions = {}): SimpleBroker {
  return new SimpleBroker({ nextId: createIdGenerator('dl'), ...options });
}

describe('SimpleBroker topics', () => {
  it('delivers every message to every subscription, the sender’s own session included', () => {
    const broker = newBroker();
    const alice = new Recorder('alice');
    const bob = new Recorder('bob');
    sub(broker, alice, 's1', '/topic/chat');
    sub(broker, bob, 's1', '/topic/chat');
    broker.publish(msg('/topic/chat', 'hi', [], 'alice'));
    expect(alice.bodies()).toEqual(['hi']);
    expect(bob.bodies()).toEqual(['hi']);
    expect(alice.last()).toEqual({ message: expect.objectContaining({ destination: '/topic/chat' }), subscriptionId: 's1', ackId: undefined, redelivered: false });
  });

  it('delivers the same message object to every subscriber', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 'x', '/topic/t');
    sub(broker, b, 'y', '/topic/t');
    const m = msg('/topic/t', 'one');
    broker.publish(m);
    expect(a.last().message).toBe(m);
    expect(b.last().message).toBe(m);
  });

  it('keeps publish order for every subscriber', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, '1', '/topic/t');
    sub(broker, b, '1', '/topic/t');
    publishAll(broker, '/topic/t', range('m', 50));
    expect(a.bodies()).toEqual(range('m', 50));
    expect(b.bodies()).toEqual(range('m', 50));
  });

  it('delivers to each of a session’s subscriptions to the same destination', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t');
    sub(broker, a, '2', '/topic/t');
    broker.publish(msg('/topic/t', 'x'));
    expect(a.deliveries.map((d) => d.subscriptionId)).toEqual(['1', '2']);
  });

  it('matches destinations exactly and does not deliver other destinations', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/a');
    broker.publish(msg('/topic/a/b', 'no'));
    broker.publish(msg('/topic/b', 'no'));
    broker.publish(msg('/topic/a', 'yes'));
    expect(a.bodies()).toEqual(['yes']);
  });

  it('stops delivering after unsubscribe and returns false for an unknown subscription', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t');
    broker.publish(msg('/topic/t', 'one'));
    expect(broker.unsubscribe('a', '1')).toBe(true);
    expect(broker.unsubscribe('a', '1')).toBe(false);
    expect(broker.unsubscribe('nobody', 'x')).toBe(false);
    broker.publish(msg('/topic/t', 'two'));
    expect(a.bodies()).toEqual(['one']);
  });

  it('gives client-ack topic deliveries an ack id that ACK and NACK accept once', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t', 'client-individual');
    publishAll(broker, '/topic/t', ['one', 'two']);
    const [first, second] = a.ackIds();
    expect(first).toEqual(expect.any(String));
    expect(first).not.toBe(second);
    expect(broker.stats().unacked).toBe(2);
    expect(broker.ack('a', first)).toBe(true);
    expect(broker.ack('a', first)).toBe(false);
    expect(broker.nack('a', second)).toBe(true);
    expect(broker.nack('a', second)).toBe(false);
    expect(broker.ack('a', 'no-such-id')).toBe(false);
    // NACK on a topic discards: nothing comes back.
    expect(a.bodies()).toEqual(['one', 'two']);
    expect(broker.stats().unacked).toBe(0);
  });

  it('applies no prefetch limit to topic subscriptions', () => {
    const broker = newBroker({ defaultPrefetch: 1 });
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t', 'client', 1);
    publishAll(broker, '/topic/t', range('m', 5));
    expect(a.bodies()).toEqual(range('m', 5));
  });

  it('acknowledges every earlier topic delivery with a cumulative client ACK', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t', 'client');
    publishAll(broker, '/topic/t', range('m', 4));
    expect(broker.ack('a', a.ackIds()[2])).toBe(true);
    expect(broker.stats().unacked).toBe(1);
    expect(broker.ack('a', a.ackIds()[0])).toBe(false);
    expect(broker.ack('a', a.ackIds()[3])).toBe(true);
  });

  it('forgets unacked topic deliveries on unsubscribe and disconnect', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t', 'client');
    sub(broker, a, '2', '/topic/u', 'client');
    broker.publish(msg('/topic/t', 'x'));
    broker.publish(msg('/topic/u', 'y'));
    broker.unsubscribe('a', '1');
    expect(broker.stats().unacked).toBe(1);
    expect(broker.ack('a', a.ackIds()[0])).toBe(false);
    broker.disconnect('a');
    expect(broker.stats()).toMatchObject({ unacked: 0, subscriptions: 0, destinations: 0, queueDepths: {} });
  });

  it('publishes to a topic nobody subscribes to without error', () => {
    const broker = newBroker();
    broker.publish(msg('/topic/void', 'x'));
    expect(broker.stats()).toMatchObject({ published: 1, delivered: 0, dropped: 0 });
  });
});

describe('SimpleBroker queues', () => {
  it('round-robins 9 messages over 3 consumers, 3 each in order', () => {
    const broker = newBroker();
    const consumers = [new Recorder('a'), new Recorder('b'), new Recorder('c')];
    consumers.forEach((c) => sub(broker, c, 'q', '/queue/work'));
    publishAll(broker, '/queue/work', range('m', 9));
    expect(consumers.map((c) => c.bodies())).toEqual([
      ['m1', 'm4', 'm7'],
      ['m2', 'm5', 'm8'],
      ['m3', 'm6', 'm9'],
    ]);
  });

  it('delivers each queue message to exactly one subscription', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 'q', '/queue/x');
    sub(broker, b, 'q', '/queue/x');
    publishAll(broker, '/queue/x', range('m', 10));
    expect([...a.bodies(), ...b.bodies()].sort()).toEqual(range('m', 10).sort());
    expect(broker.stats().delivered).toBe(10);
  });

  it('holds messages while nobody subscribes and delivers them in order to the first consumer', () => {
    const broker = newBroker();
    publishAll(broker, '/queue/jobs', range('j', 3));
    expect(broker.stats().queueDepths).toEqual({ '/queue/jobs': 3 });
    const late = new Recorder('late');
    sub(broker, late, 'q', '/queue/jobs');
    expect(late.bodies()).toEqual(['j1', 'j2', 'j3']);
    expect(late.deliveries.every((d) => !d.redelivered)).toBe(true);
    expect(broker.stats().queueDepths).toEqual({});
    const second = new Recorder('second');
    sub(broker, second, 'q', '/queue/jobs');
    expect(second.bodies()).toEqual([]);
  });

  it('uses /queue as the default queue prefix at a segment boundary and configurable prefixes', () => {
    const broker = newBroker();
    expect(broker.isQueueDestination('/queue/a')).toBe(true);
    expect(broker.isQueueDestination('/queue')).toBe(true);
    expect(broker.isQueueDestination('/queue.a')).toBe(true);
    expect(broker.isQueueDestination('/queues/a')).toBe(false);
    expect(broker.isQueueDestination('/topic/a')).toBe(false);
    const custom = newBroker({ queuePrefixes: ['/jobs/', 'jms.queue.'] });
    expect(custom.isQueueDestination('/jobs/x')).toBe(true);
    expect(custom.isQueueDestination('jms.queue.x')).toBe(true);
    expect(custom.isQueueDestination('/queue/x')).toBe(false);
    // A topic under custom prefixes: both subscribers get it.
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(custom, a, '1', '/queue/x');
    sub(custom, b, '1', '/queue/x');
    custom.publish(msg('/queue/x', 'fan'));
    expect([a.bodies(), b.bodies()]).toEqual([['fan'], ['fan']]);
  });

  it('only offers a message to subscriptions whose filter accepts it, holding it otherwise', () => {
    const broker = newBroker();
    const evens = new Recorder('evens');
    const odds = new Recorder('odds');
    const isEven = (m: BrokerMessage): boolean => Number(m.body.toString()) % 2 === 0;
    broker.subscribe(evens, { id: 'e', destination: '/queue/n', ack: 'auto', filter: isEven });
    broker.subscribe(odds, { id: 'o', destination: '/queue/n', ack: 'auto', filter: (m) => !isEven(m) && m.body.toString() !== '7' });
    publishAll(broker, '/queue/n', ['1', '2', '3', '4', '7', '5', '6']);
    expect(evens.bodies()).toEqual(['2', '4', '6']);
    expect(odds.bodies()).toEqual(['1', '3', '5']);
    // Nobody accepts 7: it is held without blocking the messages behind it.
    expect(broker.stats().queueDepths).toEqual({ '/queue/n': 1 });
    const any = new Recorder('any');
    sub(broker, any, 'a', '/queue/n');
    expect(any.bodies()).toEqual(['7']);
  });

  it('offers a message returned to the queue to a filtered consumer that skipped the held ones', () => {
    const broker = newBroker();
    const plain = new Recorder('plain');
    const picky = new Recorder('picky');
    sub(broker, plain, 's', '/queue/q', 'client-individual', 1);
    broker.publish(msg('/queue/q', 'e1'));
    broker.subscribe(picky, { id: 's', destination: '/queue/q', ack: 'client-individual', filter: (m) => m.body.toString().startsWith('e') });
    broker.publish(msg('/queue/q', 'o1')); // plain is full, picky refuses it: held
    expect(broker.stats().queueDepths).toEqual({ '/queue/q': 1 });
    broker.disconnect('plain'); // e1 returns to the head, ahead of o1, and picky takes it
    expect(picky.deliveries.map((d) => [d.message.body.toString(), d.redelivered])).toEqual([['e1', true]]);
    expect(broker.stats().queueDepths).toEqual({ '/queue/q': 1 });
  });

  it('applies filters to topic subscriptions too', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    broker.subscribe(a, { id: '1', destination: '/topic/t', ack: 'auto', filter: (m) => m.headers.some(([k, v]) => k === 'type' && v === 'x') });
    broker.publish(msg('/topic/t', 'no', [['type', 'y']]));
    broker.publish(msg('/topic/t', 'yes', [['type', 'x']]));
    expect(a.bodies()).toEqual(['yes']);
  });

  it('treats a throwing filter as a rejection and reports it', () => {
    const errors: unknown[] = [];
    const broker = newBroker({ onConsumerError: (err) => errors.push(err) });
    const picky = new Recorder('picky');
    const plain = new Recorder('plain');
    broker.subscribe(picky, { id: '1', destination: '/queue/q', ack: 'auto', filter: () => { throw new Error('bad selector'); } });
    sub(broker, plain, '1', '/queue/q');
    publishAll(broker, '/queue/q', ['a', 'b']);
    expect(picky.bodies()).toEqual([]);
    expect(plain.bodies()).toEqual(['a', 'b']);
    expect(errors).toHaveLength(2);
  });
});

describe('SimpleBroker queue overflow', () => {
  it('rejects a publish to a full queue with STOMP_ERR_QUEUE_FULL naming the queue and the limit', () => {
    const broker = newBroker({ maxQueueDepth: 2 });
    publishAll(broker, '/queue/q', ['1', '2']);
    let caught: unknown;
    try {
      broker.publish(msg('/queue/q', '3'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StompError);
    expect((caught as StompError).code).toBe('STOMP_ERR_QUEUE_FULL');
    expect((caught as StompError).message).toBe('queue /queue/q is full (2 messages held)');
    expect(broker.stats()).toMatchObject({ published: 2, dropped: 0, queueDepths: { '/queue/q': 2 } });
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q');
    expect(c.bodies()).toEqual(['1', '2']);
  });

  it('drops the oldest held message under drop-oldest', () => {
    const broker = newBroker({ maxQueueDepth: 2, queueOverflow: 'drop-oldest' });
    publishAll(broker, '/queue/q', ['1', '2', '3', '4']);
    expect(broker.stats()).toMatchObject({ published: 4, dropped: 2, queueDepths: { '/queue/q': 2 } });
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q');
    expect(c.bodies()).toEqual(['3', '4']);
  });

  it('drops the new message under drop-newest', () => {
    const broker = newBroker({ maxQueueDepth: 2, queueOverflow: 'drop-newest' });
    publishAll(broker, '/queue/q', ['1', '2', '3', '4']);
    expect(broker.stats()).toMatchObject({ published: 4, dropped: 2, queueDepths: { '/queue/q': 2 } });
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q');
    expect(c.bodies()).toEqual(['1', '2']);
  });

  it('still delivers to a consumer with room when the held messages are ones nobody accepts', () => {
    const broker = newBroker({ maxQueueDepth: 1 });
    const c = new Recorder('c');
    broker.subscribe(c, { id: 's', destination: '/queue/q', ack: 'auto', filter: (m) => m.body.toString() !== 'stuck' });
    publishAll(broker, '/queue/q', ['stuck', 'ok']);
    expect(c.bodies()).toEqual(['ok']);
    expect(() => broker.publish(msg('/queue/q', 'stuck'))).toThrow(StompError);
  });

  it('counts only held messages toward the depth, not messages in flight', () => {
    const broker = newBroker({ maxQueueDepth: 1 });
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q', 'client-individual', 2);
    publishAll(broker, '/queue/q', ['1', '2', '3']);
    expect(c.bodies()).toEqual(['1', '2']);
    expect(broker.stats().queueDepths).toEqual({ '/queue/q': 1 });
    expect(() => broker.publish(msg('/queue/q', '4'))).toThrow('queue /queue/q is full');
  });
});

describe('SimpleBroker acks and prefetch', () => {
  it('gives a client-individual prefetch-2 consumer 2 messages, then one more after each ack', () => {
    const broker = newBroker();
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q', 'client-individual', 2);
    publishAll(broker, '/queue/q', range('m', 5));
    expect(c.bodies()).toEqual(['m1', 'm2']);
    expect(broker.ack('c', c.ackIds()[0])).toBe(true);
    expect(c.bodies()).toEqual(['m1', 'm2', 'm3']);
    expect(broker.ack('c', c.ackIds()[2])).toBe(true);
    expect(c.bodies()).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(broker.stats()).toMatchObject({ unacked: 2, queueDepths: { '/queue/q': 1 } });
  });

  it('uses defaultPrefetch when the subscription does not set one', () => {
    const broker = newBroker({ defaultPrefetch: 1 });
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q', 'client');
    publishAll(broker, '/queue/q', range('m', 3));
    expect(c.bodies()).toEqual(['m1']);
    const auto = new Recorder('auto');
    sub(broker, auto, 's', '/queue/q');
    expect(auto.bodies()).toEqual(['m2', 'm3']);
  });

  it('treats prefetch 0 as unlimited for client-ack queue subscriptions', () => {
    const broker = newBroker();
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q', 'client', 0);
    publishAll(broker, '/queue/q', range('m', 20));
    expect(c.bodies()).toHaveLength(20);
  });

  it('round-robins only over subscriptions with prefetch room', () => {
    const broker = newBroker();
    const slow = new Recorder('slow');
    const fast = new Recorder('fast');
    sub(broker, slow, 's', '/queue/q', 'client-individual', 1);
    sub(broker, fast, 's', '/queue/q');
    publishAll(broker, '/queue/q', range('m', 4));
    expect(slow.bodies()).toEqual(['m1']);
    expect(fast.bodies()).toEqual(['m2', 'm3', 'm4']);
  });

  it('acknowledges every earlier delivery of the subscription with a cumulative client ACK', () => {
    const broker = newBroker();
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q', 'client', 3);
    publishAll(broker, '/queue/q', range('m', 6));
    expect(c.bodies()).toEqual(['m1', 'm2', 'm3']);
    expect(broker.ack('c', c.ackIds()[1])).toBe(true);
    // m1 and m2 are settled: two slots free.
    expect(c.bodies()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(broker.ack('c', c.ackIds()[0])).toBe(false);
    expect(broker.stats().unacked).toBe(3);
  });

  it('acknowledges only the given delivery in client-individual mode', () => {
    const broker = newBroker();
    const c = new Recorder('c');
    sub(broker, c, 's', '/queue/q', 'client-individual', 3);
    publishAll(broker, '/queue/q', range('m', 6));
    expect(broker.ack('c', c.ackIds()[1])).toBe(true);
    expect(c.bodies()).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(broker.ack('c', c.ackIds()[0])).toBe(true);
    expect(c.bodies()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(broker.stats().unacked).toBe(3);
  });

  it('never reuses an ack id, across redeliveries and brokers', () => {
    const broker = newBroker();
    const other = newBroker();
    const c = new Recorder('c');
    const d = new Recorder('d');
    sub(broker, c, 's', '/queue/q', 'client-individual');
    sub(other, d, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    other.publish(msg('/queue/q', 'x'));
    broker.nack('c', c.ackIds()[0]);
    broker.nack('c', c.ackIds()[1]);
    const ids = [...c.ackIds(), ...d.ackIds()];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses to ACK or NACK another session’s delivery', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    const [ackId] = a.ackIds();
    expect(broker.ack('mallory', ackId)).toBe(false);
    expect(broker.nack('mallory', ackId)).toBe(false);
    expect(broker.stats().unacked).toBe(1);
    expect(broker.ack('a', ackId)).toBe(true);
  });

  it('does not give auto deliveries an ack id', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q');
    broker.publish(msg('/queue/q', 'x'));
    expect(a.last().ackId).toBeUndefined();
    expect(broker.stats().unacked).toBe(0);
  });
});

describe('SimpleBroker NACK and dead letters', () => {
  it('redelivers a NACKed queue message flagged redelivered, to another consumer', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    sub(broker, b, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'm1'));
    broker.publish(msg('/queue/q', 'm2'));
    expect(a.bodies()).toEqual(['m1']);
    // Round robin would give the next message to a; the NACKed one prefers the other consumer.
    expect(broker.nack('a', a.ackIds()[0])).toBe(true);
    expect(b.bodies()).toEqual(['m2', 'm1']);
    expect(b.last()).toMatchObject({ redelivered: true, subscriptionId: 's' });
    expect(b.last().message).toBe(a.deliveries[0].message);
    expect(broker.stats()).toMatchObject({ delivered: 3, redelivered: 1, unacked: 2 });
  });

  it('redelivers to the same consumer when it is the only one', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'm1'));
    broker.nack('a', a.ackIds()[0]);
    expect(a.deliveries.map((d) => [d.message.body.toString(), d.redelivered])).toEqual([['m1', false], ['m1', true]]);
  });

  it('puts a NACKed message back at the head of the queue, ahead of held messages', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual', 1);
    publishAll(broker, '/queue/q', ['m1', 'm2', 'm3']);
    broker.nack('a', a.ackIds()[0]);
    expect(a.bodies()).toEqual(['m1', 'm1']);
    broker.ack('a', a.ackIds()[1]);
    broker.ack('a', a.ackIds()[2]);
    expect(a.bodies()).toEqual(['m1', 'm1', 'm2', 'm3']);
  });

  it('NACKs cumulatively in client mode and returns the messages in their original order', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client', 3);
    publishAll(broker, '/queue/q', ['m1', 'm2', 'm3', 'm4']);
    expect(broker.nack('a', a.ackIds()[1])).toBe(true);
    // m1 and m2 come back at the head, in order, ahead of the held m4; m3 is still pending.
    expect(a.bodies()).toEqual(['m1', 'm2', 'm3', 'm1', 'm2']);
    expect(a.deliveries.slice(3).every((d) => d.redelivered)).toBe(true);
    expect(broker.stats()).toMatchObject({ unacked: 3, queueDepths: { '/queue/q': 1 } });
  });

  it('NACKs only the given delivery in client-individual mode', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    publishAll(broker, '/queue/q', ['m1', 'm2', 'm3']);
    sub(broker, b, 's', '/queue/q');
    broker.nack('a', a.ackIds()[1]);
    expect(b.bodies()).toEqual(['m2']);
    expect(broker.stats().unacked).toBe(2);
  });

  it('dead-letters a message after maxDeliveries with x-original-destination and counts it', () => {
    const broker = newBroker({ maxDeliveries: 3 });
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/orders', 'client-individual');
    broker.publish(msg('/queue/orders', 'poison', [['k', 'v'], ['x-original-destination', 'forged']]));
    for (let i = 0; i < 3; i++) expect(broker.nack('a', a.last().ackId as string)).toBe(true);
    expect(a.deliveries).toHaveLength(3);
    expect(a.deliveries.map((d) => d.redelivered)).toEqual([false, true, true]);
    expect(broker.stats()).toMatchObject({ deadLettered: 1, redelivered: 2, unacked: 0, queueDepths: { '/queue/orders.dlq': 1 } });
    const dlq = new Recorder('ops');
    sub(broker, dlq, 'd', '/queue/orders.dlq');
    const letter = dlq.last().message;
    const original = a.deliveries[0].message;
    expect(letter).toEqual({
      id: expect.stringMatching(/^dl-/),
      destination: '/queue/orders.dlq',
      headers: [['k', 'v'], ['x-original-destination', '/queue/orders']],
      body: original.body,
      contentType: 'text/plain',
    });
    expect(letter.id).not.toBe(original.id);
    expect(dlq.last().redelivered).toBe(false);
  });

  it('uses the configured dead-letter destination, which may be a topic', () => {
    const broker = newBroker({ maxDeliveries: 1, deadLetterDestination: (d) => `/topic/dead${d}` });
    const a = new Recorder('a');
    const watcher = new Recorder('w');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    sub(broker, watcher, 'w', '/topic/dead/queue/q');
    broker.publish(msg('/queue/q', 'x'));
    broker.nack('a', a.last().ackId as string);
    expect(watcher.bodies()).toEqual(['x']);
    expect(broker.stats()).toMatchObject({ deadLettered: 1, dropped: 0 });
  });

  it('discards instead of dead-lettering when the dead-letter destination is null', () => {
    const broker = newBroker({ maxDeliveries: 1, deadLetterDestination: () => null });
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    broker.nack('a', a.last().ackId as string);
    expect(broker.stats()).toMatchObject({ deadLettered: 0, dropped: 1, queueDepths: {} });
  });

  it('discards a message whose dead-letter destination is its own destination', () => {
    const broker = newBroker({ maxDeliveries: 2, deadLetterDestination: () => '/queue/dead' });
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/dead', 'client-individual');
    broker.publish(msg('/queue/dead', 'x'));
    broker.nack('a', a.last().ackId as string);
    broker.nack('a', a.last().ackId as string);
    expect(a.deliveries).toHaveLength(2);
    expect(broker.stats()).toMatchObject({ deadLettered: 0, dropped: 1, queueDepths: {} });
  });

  it('never dead-letters a dead letter a second time', () => {
    const broker = newBroker({ maxDeliveries: 2 });
    const nackAll = (c: Recorder): void => {
      c.onDeliver = (d) => broker.nack(c.sessionId, d.ackId as string);
    };
    const a = new Recorder('a');
    const dlq = new Recorder('dlq');
    nackAll(a);
    nackAll(dlq);
    sub(broker, a, 's', '/queue/q', 'client-individual');
    sub(broker, dlq, 's', '/queue/q.dlq', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    expect(a.deliveries).toHaveLength(2);
    expect(dlq.deliveries).toHaveLength(2);
    expect(broker.stats()).toMatchObject({ deadLettered: 1, dropped: 1, queueDepths: {} });
  });

  it('drops a dead letter that meets a full dead-letter queue under reject', () => {
    const broker = newBroker({ maxDeliveries: 1, maxQueueDepth: 1 });
    broker.publish(msg('/queue/q.dlq', 'filler'));
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    expect(broker.nack('a', a.last().ackId as string)).toBe(true);
    expect(broker.stats()).toMatchObject({ deadLettered: 0, dropped: 1, queueDepths: { '/queue/q.dlq': 1 } });
  });
});

describe('SimpleBroker unsubscribe and disconnect', () => {
  it('returns unacked deliveries to the queue head in order, redelivered, on unsubscribe', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual', 2);
    publishAll(broker, '/queue/q', ['m1', 'm2', 'm3', 'm4']);
    expect(broker.unsubscribe('a', 's')).toBe(true);
    expect(broker.stats()).toMatchObject({ unacked: 0, queueDepths: { '/queue/q': 4 } });
    const b = new Recorder('b');
    sub(broker, b, 's', '/queue/q');
    expect(b.deliveries.map((d) => [d.message.body.toString(), d.redelivered])).toEqual([
      ['m1', true], ['m2', true], ['m3', false], ['m4', false],
    ]);
  });

  it('redelivers unacked deliveries to the remaining consumers on disconnect', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    sub(broker, b, 's', '/queue/q', 'client-individual', 1);
    publishAll(broker, '/queue/q', ['m1', 'm2', 'm3']);
    expect(a.bodies()).toEqual(['m1', 'm3']);
    expect(b.bodies()).toEqual(['m2']);
    broker.ack('b', b.ackIds()[0]);
    broker.disconnect('a');
    expect(b.bodies()).toEqual(['m2', 'm1']);
    expect(b.last().redelivered).toBe(true);
    broker.ack('b', b.ackIds()[1]);
    expect(b.bodies()).toEqual(['m2', 'm1', 'm3']);
    expect(broker.ack('a', a.ackIds()[0])).toBe(false);
  });

  it('returns a session’s deliveries from several subscriptions in publish order', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's1', '/queue/q', 'client-individual');
    sub(broker, a, 's2', '/queue/q', 'client-individual');
    publishAll(broker, '/queue/q', ['m1', 'm2', 'm3', 'm4']);
    broker.disconnect('a');
    const b = new Recorder('b');
    sub(broker, b, 's', '/queue/q');
    expect(b.bodies()).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('dead-letters returned deliveries that reached maxDeliveries', () => {
    const broker = newBroker({ maxDeliveries: 1 });
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    broker.disconnect('a');
    expect(broker.stats()).toMatchObject({ deadLettered: 1, queueDepths: { '/queue/q.dlq': 1 } });
  });

  it('treats disconnect of a session without subscriptions as a no-op', () => {
    const broker = newBroker();
    expect(() => broker.disconnect('ghost')).not.toThrow();
    expect(broker.stats()).toMatchObject({ subscriptions: 0, destinations: 0 });
  });

  it('removes all of a session’s subscriptions on disconnect and lets it reuse ids afterwards', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, '1', '/topic/t');
    sub(broker, a, '2', '/queue/q');
    broker.disconnect('a');
    expect(broker.stats()).toMatchObject({ subscriptions: 0, destinations: 0 });
    expect(() => sub(broker, a, '1', '/topic/t')).not.toThrow();
  });
});

describe('SimpleBroker subscribe validation', () => {
  it('throws STOMP_ERR_DUPLICATE_SUBSCRIPTION naming the id when a session reuses a subscription id', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 'sub-0', '/topic/t');
    let caught: unknown;
    try {
      sub(broker, a, 'sub-0', '/topic/other');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StompError);
    expect((caught as StompError).code).toBe('STOMP_ERR_DUPLICATE_SUBSCRIPTION');
    expect((caught as StompError).message).toContain('"sub-0"');
    // Another session may use the same id.
    expect(() => sub(broker, new Recorder('b'), 'sub-0', '/topic/t')).not.toThrow();
    expect(broker.stats().subscriptions).toBe(2);
  });

  it('rejects an invalid prefetch or ack mode with STOMP_ERR_BAD_HEADER', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    expect(() => broker.subscribe(a, { id: '1', destination: '/queue/q', ack: 'client', prefetch: -1 })).toThrow(
      expect.objectContaining({ code: 'STOMP_ERR_BAD_HEADER' }),
    );
    expect(() => broker.subscribe(a, { id: '1', destination: '/queue/q', ack: 'sometimes' as AckMode })).toThrow(
      expect.objectContaining({ code: 'STOMP_ERR_BAD_HEADER' }),
    );
    expect(broker.stats().subscriptions).toBe(0);
  });

  it('rejects invalid options with a RangeError', () => {
    expect(() => new SimpleBroker({ maxDeliveries: 0 })).toThrow(RangeError);
    expect(() => new SimpleBroker({ maxQueueDepth: -1 })).toThrow(RangeError);
    expect(() => new SimpleBroker({ defaultPrefetch: 1.5 })).toThrow(RangeError);
    expect(() => new SimpleBroker({ queueOverflow: 'explode' as 'reject' })).toThrow(RangeError);
  });
});

describe('SimpleBroker re-entrant consumers', () => {
  it('ends a consumer that NACKs every delivery in the DLQ after maxDeliveries, without recursion', () => {
    const broker = newBroker({ maxDeliveries: 5 });
    const a = new Recorder('a');
    let depth = 0;
    let maxDepth = 0;
    a.onDeliver = (d) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      broker.nack('a', d.ackId as string);
      depth--;
    };
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'poison'));
    expect(a.deliveries).toHaveLength(5);
    expect(maxDepth).toBe(1);
    expect(broker.stats()).toMatchObject({ deadLettered: 1, unacked: 0, queueDepths: { '/queue/q.dlq': 1 } });
  });

  it('survives a NACK-forever consumer with a huge maxDeliveries without overflowing the stack', () => {
    const broker = newBroker({ maxDeliveries: 100_000 });
    const a = new Recorder('a', (d) => broker.nack('a', d.ackId as string));
    sub(broker, a, 's', '/queue/q', 'client');
    broker.publish(msg('/queue/q', 'poison'));
    expect(a.deliveries).toHaveLength(100_000);
    expect(broker.stats().deadLettered).toBe(1);
  });

  it('delivers each message once to a consumer that ACKs synchronously', () => {
    const broker = newBroker();
    const a = new Recorder('a', (d) => broker.ack('a', d.ackId as string));
    sub(broker, a, 's', '/queue/q', 'client-individual', 1);
    publishAll(broker, '/queue/q', range('m', 5));
    expect(a.bodies()).toEqual(range('m', 5));
    expect(broker.stats()).toMatchObject({ unacked: 0, queueDepths: {} });
  });

  it('keeps publish order for every subscriber when a consumer publishes from deliver()', () => {
    const broker = newBroker();
    const echo = new Recorder('echo', (d) => {
      const body = d.message.body.toString();
      if (!body.startsWith('re:')) broker.publish(msg('/topic/t', `re:${body}`));
    });
    const watcher = new Recorder('watcher');
    sub(broker, echo, 's', '/topic/t');
    sub(broker, watcher, 's', '/topic/t');
    publishAll(broker, '/topic/t', ['a', 'b']);
    expect(watcher.bodies()).toEqual(['a', 're:a', 'b', 're:b']);
    expect(echo.bodies()).toEqual(['a', 're:a', 'b', 're:b']);
  });

  it('does not deliver a message to a subscription created while it was being published', () => {
    const broker = newBroker();
    const late = new Recorder('late');
    const first = new Recorder('first', () => {
      if (late.deliveries.length === 0 && broker.stats().subscriptions === 1) sub(broker, late, 's', '/topic/t');
    });
    sub(broker, first, 's', '/topic/t');
    broker.publish(msg('/topic/t', 'one'));
    broker.publish(msg('/topic/t', 'two'));
    expect(late.bodies()).toEqual(['two']);
  });

  it('stays consistent when a consumer unsubscribes itself from inside deliver()', () => {
    const broker = newBroker();
    const quitter = new Recorder('quitter', () => broker.unsubscribe('quitter', 's'));
    const stayer = new Recorder('stayer');
    sub(broker, quitter, 's', '/queue/q', 'client-individual');
    sub(broker, stayer, 's', '/queue/q');
    publishAll(broker, '/queue/q', range('m', 4));
    expect(quitter.bodies()).toEqual(['m1']);
    expect(stayer.deliveries.map((d) => [d.message.body.toString(), d.redelivered])).toEqual([
      ['m1', true], ['m2', false], ['m3', false], ['m4', false],
    ]);
    expect(broker.stats()).toMatchObject({ subscriptions: 1, unacked: 0, queueDepths: {} });
  });

  it('stays consistent when a consumer disconnects another session from inside deliver()', () => {
    const broker = newBroker();
    const victim = new Recorder('victim');
    const killer = new Recorder('killer', () => broker.disconnect('victim'));
    sub(broker, killer, 's', '/topic/t');
    sub(broker, victim, 's', '/topic/t');
    broker.publish(msg('/topic/t', 'x'));
    expect(victim.bodies()).toEqual([]);
    expect(broker.stats().subscriptions).toBe(1);
  });
});

describe('SimpleBroker consumer errors', () => {
  it('reports a throwing consumer and keeps delivering to the others', () => {
    const errors: Array<[unknown, string]> = [];
    const broker = newBroker({ onConsumerError: (err, sessionId) => errors.push([err, sessionId]) });
    const bad = new Recorder('bad', () => {
      throw new Error('boom');
    });
    const good = new Recorder('good');
    sub(broker, bad, 's', '/topic/t');
    sub(broker, good, 's', '/topic/t');
    sub(broker, bad, 'q', '/queue/q');
    sub(broker, good, 'q', '/queue/q');
    publishAll(broker, '/topic/t', ['t1', 't2']);
    publishAll(broker, '/queue/q', ['q1', 'q2']);
    expect(good.bodies()).toEqual(['t1', 't2', 'q2']);
    expect(errors).toHaveLength(3);
    expect(errors[0][1]).toBe('bad');
    expect((errors[0][0] as Error).message).toBe('boom');
  });

  it('ignores consumer errors by default and survives a throwing error hook', () => {
    const bad = new Recorder('bad', () => {
      throw new Error('boom');
    });
    for (const broker of [newBroker(), newBroker({ onConsumerError: () => { throw new Error('hook'); } })]) {
      const good = new Recorder('good');
      sub(broker, bad, 's', '/topic/t');
      sub(broker, good, 's', '/topic/t');
      expect(() => broker.publish(msg('/topic/t', 'x'))).not.toThrow();
      expect(good.bodies()).toEqual(['x']);
    }
  });
});

describe('SimpleBroker stats', () => {
  it('fills every field', () => {
    const broker = newBroker({ maxDeliveries: 1, maxQueueDepth: 1, queueOverflow: 'drop-newest' });
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, '1', '/topic/t');
    sub(broker, b, '1', '/topic/t');
    sub(broker, a, '2', '/queue/work', 'client-individual', 1);
    broker.publish(msg('/topic/t', 't')); // 2 deliveries
    broker.publish(msg('/queue/work', 'w1')); // delivered to a
    broker.publish(msg('/queue/work', 'w2')); // held
    broker.publish(msg('/queue/work', 'w3')); // dropped (drop-newest)
    broker.publish(msg('/queue/idle', 'i1')); // held
    broker.nack('a', a.last().ackId as string); // w1 dead-lettered (maxDeliveries 1); w2 delivered
    expect(broker.stats()).toEqual({
      subscriptions: 3,
      destinations: 2,
      queueDepths: { '/queue/idle': 1, '/queue/work.dlq': 1 },
      unacked: 1,
      published: 5,
      delivered: 4,
      redelivered: 0,
      deadLettered: 1,
      dropped: 1,
      patterns: { patterns: 0, cached: 0, hits: 0, misses: 0 },
    });
  });

  it('counts redeliveries', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 's', '/queue/q', 'client-individual');
    broker.publish(msg('/queue/q', 'x'));
    broker.nack('a', a.last().ackId as string);
    broker.nack('a', a.last().ackId as string);
    expect(broker.stats()).toMatchObject({ published: 1, delivered: 3, redelivered: 2, unacked: 1 });
  });
});

describe('SimpleBroker wildcard subscriptions', () => {
  it('delivers through * and ** patterns with the destination the message was published to', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 'one', '/topic/prices/*');
    sub(broker, a, 'any', '/topic/**');
    broker.publish(msg('/topic/prices/aapl', 'p1'));
    broker.publish(msg('/topic/news', 'n1'));
    broker.publish(msg('/topic/prices/aapl/nasdaq', 'p2'));
    expect(a.deliveries.map((d) => [d.subscriptionId, d.message.destination, d.message.body.toString()])).toEqual([
      ['one', '/topic/prices/aapl', 'p1'],
      ['any', '/topic/prices/aapl', 'p1'],
      ['any', '/topic/news', 'n1'],
      ['any', '/topic/prices/aapl/nasdaq', 'p2'],
    ]);
  });

  it('gives each matching subscription the message once, exact and pattern alike', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 'exact', '/topic/a/b');
    sub(broker, a, 'star', '/topic/a/*');
    sub(broker, a, 'deep', '/topic/**/b');
    sub(broker, b, 'star', '/topic/a/*');
    broker.publish(msg('/topic/a/b', 'x'));
    expect(a.deliveries.map((d) => d.subscriptionId).sort()).toEqual(['deep', 'exact', 'star']);
    expect(b.deliveries.map((d) => d.subscriptionId)).toEqual(['star']);
    broker.publish(msg('/topic/a/b', 'y'));
    expect(broker.stats()).toMatchObject({ delivered: 8, subscriptions: 4, destinations: 3, patterns: { patterns: 2, cached: 1, hits: 1, misses: 1 } });
  });

  it("does not match across segments with '*' or treat '/topic/a*' as a pattern", () => {
    const broker = newBroker();
    const a = new Recorder('a');
    sub(broker, a, 'star', '/topic/a/*');
    sub(broker, a, 'literal', '/topic/a*');
    broker.publish(msg('/topic/a', '1'));
    broker.publish(msg('/topic/a/b/c', '2'));
    broker.publish(msg('/topic/ab', '3'));
    broker.publish(msg('/topic/a*', '4'));
    expect(a.deliveries.map((d) => `${d.subscriptionId}:${d.message.body.toString()}`)).toEqual(['literal:4']);
  });

  it("uses '.' as the separator after the last '/' when configured", () => {
    const broker = newBroker({ destinationSeparator: '.' });
    const a = new Recorder('a');
    sub(broker, a, 'nasdaq', '/topic/stocks.*.nasdaq');
    sub(broker, a, 'all', '/topic/stocks.**');
    sub(broker, a, 'slash', '/topic/a/*'); // '*' is the whole last component: a pattern
    broker.publish(msg('/topic/stocks.aapl.nasdaq', '1'));
    broker.publish(msg('/topic/stocks', '2'));
    broker.publish(msg('/topic/stocks/aapl', '3'));
    broker.publish(msg('/topic/a/b', '4'));
    expect(a.deliveries.map((d) => `${d.subscriptionId}:${d.message.body.toString()}`)).toEqual(['nasdaq:1', 'all:1', 'all:2', 'slash:4']);
    expect(broker.isPattern('/topic/stocks.*')).toBe(true);
    expect(newBroker().isPattern('/topic/stocks.*')).toBe(false);
  });

  it('refuses a wildcard subscription on a queue destination with STOMP_ERR_DESTINATION', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    expect(() => sub(broker, a, 's', '/queue/jobs/*')).toThrow(
      expect.objectContaining({ code: 'STOMP_ERR_DESTINATION', message: "wildcards are not supported on queue destinations: '/queue/jobs/*'" }),
    );
    expect(() => sub(broker, a, 's', '/queue/**')).toThrow(StompError);
    expect(broker.stats()).toMatchObject({ subscriptions: 0, destinations: 0 });
    // A literal name with a star is fine.
    sub(broker, a, 's', '/queue/jobs*');
    broker.publish(msg('/queue/jobs*', 'j'));
    expect(a.bodies()).toEqual(['j']);
  });

  it('delivers the next message to a pattern subscribed after the destination was cached, and none after unsubscribe', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    const b = new Recorder('b');
    sub(broker, a, 'all', '/topic/**');
    broker.publish(msg('/topic/x/y', '1')); // '/topic/x/y' is now cached with one pattern
    sub(broker, b, 'x', '/topic/x/*');
    broker.publish(msg('/topic/x/y', '2'));
    expect(broker.unsubscribe('b', 'x')).toBe(true);
    broker.publish(msg('/topic/x/y', '3'));
    sub(broker, b, 'x', '/topic/x/*');
    broker.publish(msg('/topic/x/y', '4'));
    broker.disconnect('b');
    broker.publish(msg('/topic/x/y', '5'));
    expect(a.bodies()).toEqual(['1', '2', '3', '4', '5']);
    expect(b.bodies()).toEqual(['2', '4']);
  });

  it('behaves the same with the pattern cache disabled or tiny', () => {
    for (const patternCacheSize of [0, 1]) {
      const broker = newBroker({ patternCacheSize });
      const a = new Recorder('a');
      sub(broker, a, 'p', '/topic/*/x');
      for (const d of ['/topic/a/x', '/topic/b/x', '/topic/a/x', '/topic/c/y']) broker.publish(msg(d, d));
      expect(a.bodies()).toEqual(['/topic/a/x', '/topic/b/x', '/topic/a/x']);
    }
  });

  it('applies filters and client acks to pattern subscriptions', () => {
    const broker = newBroker();
    const a = new Recorder('a');
    broker.subscribe(a, { id: 'p', destination: '/topic/**', ack: 'client-individual', filter: (m) => m.body.toString() !== 'skip' });
    broker.publish(msg('/topic/a', 'keep'));
    broker.publish(msg('/topic/b', 'skip'));
    expect(a.bodies()).toEqual(['keep']);
    expect(broker.stats().unacked).toBe(1);
    expect(broker.ack('a', a.last().ackId as string)).toBe(true);
    expect(broker.stats().unacked).toBe(0);
  });

  it('delivers topic dead letters to pattern subscribers', () => {
    const broker = newBroker({ maxDeliveries: 1, deadLetterDestination: (d) => `/topic/dlq${d}` });
    const worker = new Recorder('w');
    const watcher = new Recorder('watch');
    sub(broker, worker, 'q', '/queue/jobs', 'client-individual');
    sub(broker, watcher, 'dlq', '/topic/dlq/**');
    broker.publish(msg('/queue/jobs', 'bad'));
    broker.nack('w', worker.last().ackId as string);
    expect(watcher.deliveries.map((d) => d.message.destination)).toEqual(['/topic/dlq/queue/jobs']);
  });

  it('does not deliver a message to a pattern subscription created while it was being fanned out', () => {
    const broker = newBroker();
    const late = new Recorder('late');
    const a = new Recorder('a', (d) => {
      if (d.message.body.toString() === '1') sub(broker, late, 'p', '/topic/**');
    });
    sub(broker, a, 's', '/topic/*');
    broker.publish(msg('/topic/t', '1'));
    broker.publish(msg('/topic/t', '2'));
    expect(late.bodies()).toEqual(['2']);
  });

  it('keeps fanning out to the remaining patterns when a consumer unsubscribes a pattern mid-fan-out', () => {
    const broker = newBroker();
    const b = new Recorder('b');
    const c = new Recorder('c');
    const a = new Recorder('a', () => {
      broker.unsubscribe('b', 'p'); // b's pattern loses its only subscriber during the fan-out
    });
    // The trie walk finds these in this order: '/topic/*', '/topic/**', '/**'.
    sub(broker, a, 'p', '/topic/*');
    sub(broker, b, 'p', '/topic/**');
    sub(broker, c, 'p', '/**');
    broker.publish(msg('/topic/t', '1'));
    broker.publish(msg('/topic/t', '2'));
    expect(a.bodies()).toEqual(['1', '2']);
    expect(b.bodies()).toEqual([]);
    expect(c.bodies()).toEqual(['1', '2']);
  });

  it('keeps publish order per subscriber when a pattern consumer publishes from deliver()', () => {
    const broker = newBroker();
    const b = new Recorder('b');
    const a = new Recorder('a', (d) => {
      const body = d.message.body.toString();
      if (body.length < 3) broker.publish(msg('/topic/echo/' + body, body + '+'));
    });
    sub(broker, a, 'p', '/topic/**');
    sub(broker, b, 'p', '/topic/echo/*');
    broker.publish(msg('/topic/echo/x', 'x'));
    broker.publish(msg('/topic/echo/y', 'y'));
    expect(a.bodies()).toEqual(['x', 'x+', 'x++', 'y', 'y+', 'y++']);
    expect(b.bodies()).toEqual(['x', 'x+', 'x++', 'y', 'y+', 'y++']);
  });
});
