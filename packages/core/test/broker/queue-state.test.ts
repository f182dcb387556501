import { Deque, NO_MATCH, NO_ROOM, QueueEntry, QueueState } from '../../src/broker/queue-state';
import type { BrokerMessage } from '../../src/broker/types';

describe('Deque', () => {
  it('behaves like an array used as a double-ended queue across growth and wrap-around', () => {
    const deque = new Deque<number>();
    const model: number[] = [];
    let next = 0;
    // Deterministic pseudo-random mix of operations.
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 20000; i++) {
      const r = rand();
      if (r < 0.35) {
        deque.push(next);
        model.push(next++);
      } else if (r < 0.5) {
        deque.unshift(next);
        model.unshift(next++);
      } else if (r < 0.85) {
        expect(deque.shift()).toBe(model.shift());
      } else if (model.length > 0) {
        const index = Math.floor(rand() * model.length);
        expect(deque.removeAt(index)).toBe(model.splice(index, 1)[0]);
      }
      expect(deque.length).toBe(model.length);
      if (i % 97 === 0) expect([...deque]).toEqual(model);
    }
    expect([...deque]).toEqual(model);
  });

  it('returns undefined when reading or removing out of range', () => {
    const deque = new Deque<string>();
    expect(deque.shift()).toBeUndefined();
    expect(deque.at(0)).toBeUndefined();
    expect(deque.removeAt(0)).toBeUndefined();
    deque.push('a');
    expect(deque.at(1)).toBeUndefined();
    expect(deque.at(-1)).toBeUndefined();
    deque.clear();
    expect(deque.length).toBe(0);
  });

  it('keeps working after a burst shrinks it back', () => {
    const deque = new Deque<number>();
    for (let i = 0; i < 5000; i++) deque.push(i);
    for (let i = 0; i < 5000; i++) expect(deque.shift()).toBe(i);
    deque.push(1);
    deque.unshift(0);
    expect([...deque]).toEqual([0, 1]);
  });
});

class TestConsumer {
  constructor(readonly name: string, public room = true, readonly accepts: (m: BrokerMessage) => boolean = () => true) {}
  hasRoom(): boolean {
    return this.room;
  }
}

const message = (id: string): BrokerMessage => ({ id, destination: '/queue/q', headers: [], body: Buffer.from(id) });
const accepts = (c: TestConsumer, m: BrokerMessage): boolean => c.accepts(m);

describe('QueueState.pick', () => {
  it('walks the consumers round robin, skipping those without room', () => {
    const queue = new QueueState<TestConsumer>('/queue/q');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new TestConsumer(n));
    [a, b, c].forEach((x) => queue.addConsumer(x));
    b.room = false;
    const picks = Array.from({ length: 4 }, (_, i) => queue.pick(new QueueEntry(message(`m${i}`), i), accepts));
    expect(picks).toEqual([a, c, a, c]);
  });

  it('reports NO_ROOM when nobody has room and NO_MATCH when nobody with room accepts', () => {
    const queue = new QueueState<TestConsumer>('/queue/q');
    expect(queue.pick(new QueueEntry(message('m'), 1), accepts)).toBe(NO_ROOM);
    const full = new TestConsumer('full', false);
    const picky = new TestConsumer('picky', true, () => false);
    queue.addConsumer(full);
    expect(queue.pick(new QueueEntry(message('m'), 1), accepts)).toBe(NO_ROOM);
    queue.addConsumer(picky);
    expect(queue.pick(new QueueEntry(message('m'), 1), accepts)).toBe(NO_MATCH);
  });

  it('passes over the consumer that last held the entry when another can take it', () => {
    const queue = new QueueState<TestConsumer>('/queue/q');
    const a = new TestConsumer('a');
    const b = new TestConsumer('b');
    queue.addConsumer(a);
    queue.addConsumer(b);
    const entry = new QueueEntry<TestConsumer>(message('m'), 1);
    entry.holder = a;
    expect(queue.pick(entry, accepts)).toBe(b);
    entry.holder = b;
    expect(queue.pick(entry, accepts)).toBe(a);
    a.room = false;
    expect(queue.pick(entry, accepts)).toBe(b);
  });

  it('keeps the round robin position when a consumer before the cursor leaves', () => {
    const queue = new QueueState<TestConsumer>('/queue/q');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => new TestConsumer(n));
    [a, b, c].forEach((x) => queue.addConsumer(x));
    expect(queue.pick(new QueueEntry(message('1'), 1), accepts)).toBe(a);
    expect(queue.pick(new QueueEntry(message('2'), 2), accepts)).toBe(b);
    expect(queue.removeConsumer(a)).toBe(true);
    expect(queue.removeConsumer(a)).toBe(false);
    expect(queue.pick(new QueueEntry(message('3'), 3), accepts)).toBe(c);
    expect(queue.pick(new QueueEntry(message('4'), 4), accepts)).toBe(b);
    expect(queue.idle).toBe(false);
  });
});
