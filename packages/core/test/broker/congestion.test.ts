/**
 * Consumer congestion: a session whose outbound buffer is full marks itself congested; queue
 * messages then stay in the broker (or go to other consumers) until it resumes. Topics are not
 * held back.
 */
import { SimpleBroker } from '../../src/broker/simple-broker';
import { createIdGenerator } from '../../src/broker/message-id';
import type { BrokerMessage, Consumer, Delivery } from '../../src/broker/types';

class Slow implements Consumer {
  congested = false;
  readonly bodies: string[] = [];
  constructor(readonly sessionId: string) {}
  deliver(delivery: Delivery): void {
    this.bodies.push(delivery.message.body.toString());
  }
}

const nextId = createIdGenerator('congestion');
const msg = (destination: string, body: string): BrokerMessage => ({ id: nextId(), destination, headers: [], body: Buffer.from(body) });

describe('SimpleBroker consumer congestion', () => {
  it('holds queue messages while the only consumer is congested and delivers them in order on resume', () => {
    const broker = new SimpleBroker();
    const slow = new Slow('s');
    broker.subscribe(slow, { id: '1', destination: '/queue/q', ack: 'auto' });
    broker.publish(msg('/queue/q', 'a'));
    slow.congested = true;
    broker.publish(msg('/queue/q', 'b'));
    broker.publish(msg('/queue/q', 'c'));
    expect(slow.bodies).toEqual(['a']);
    expect(broker.stats().queueDepths).toEqual({ '/queue/q': 2 });
    slow.congested = false;
    broker.resume('s');
    expect(slow.bodies).toEqual(['a', 'b', 'c']);
    expect(broker.stats().queueDepths).toEqual({});
  });

  it('gives queue messages to the other consumers while one is congested', () => {
    const broker = new SimpleBroker();
    const slow = new Slow('slow');
    const fast = new Slow('fast');
    broker.subscribe(slow, { id: '1', destination: '/queue/q', ack: 'auto' });
    broker.subscribe(fast, { id: '1', destination: '/queue/q', ack: 'auto' });
    slow.congested = true;
    for (const b of ['1', '2', '3', '4']) broker.publish(msg('/queue/q', b));
    expect(fast.bodies).toEqual(['1', '2', '3', '4']);
    expect(slow.bodies).toEqual([]);
  });

  it('does not hold back topic deliveries', () => {
    const broker = new SimpleBroker();
    const slow = new Slow('s');
    slow.congested = true;
    broker.subscribe(slow, { id: '1', destination: '/topic/t', ack: 'auto' });
    broker.publish(msg('/topic/t', 'x'));
    expect(slow.bodies).toEqual(['x']);
  });

  it('ignores resume for a session it does not know', () => {
    const broker = new SimpleBroker();
    expect(() => broker.resume('nobody')).not.toThrow();
  });
});
