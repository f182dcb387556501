import { SubscriptionRegistry } from '../../src/broker/subscription-registry';
import type { RegistryEntry } from '../../src/broker/subscription-registry';

const entry = (sessionId: string, id: string, destination: string): RegistryEntry => ({ sessionId, id, destination });

describe('SubscriptionRegistry', () => {
  it('finds subscriptions by exact destination and by session and id', () => {
    const registry = new SubscriptionRegistry();
    const a = entry('s1', '1', '/topic/a');
    const b = entry('s2', '1', '/topic/a');
    const c = entry('s1', '2', '/topic/b');
    [a, b, c].forEach((e) => expect(registry.add(e)).toBe(true));
    expect([...(registry.subscribers('/topic/a') ?? [])]).toEqual([a, b]);
    expect([...(registry.subscribers('/topic/b') ?? [])]).toEqual([c]);
    expect(registry.subscribers('/topic/a/x')).toBeUndefined();
    expect(registry.get('s1', '2')).toBe(c);
    expect(registry.get('s2', '2')).toBeUndefined();
    expect(registry.sessionSubscriptions('s1')).toEqual([a, c]);
    expect(registry.size).toBe(3);
    expect(registry.destinationCount).toBe(2);
    expect([...registry.destinations()].sort()).toEqual(['/topic/a', '/topic/b']);
  });

  it('refuses a second subscription with the same id in one session and changes nothing', () => {
    const registry = new SubscriptionRegistry();
    registry.add(entry('s1', '1', '/topic/a'));
    expect(registry.add(entry('s1', '1', '/topic/b'))).toBe(false);
    expect(registry.size).toBe(1);
    expect(registry.subscribers('/topic/b')).toBeUndefined();
    expect(registry.add(entry('s2', '1', '/topic/b'))).toBe(true);
  });

  it('removes one subscription and forgets destinations and sessions left empty', () => {
    const registry = new SubscriptionRegistry();
    const a = entry('s1', '1', '/topic/a');
    registry.add(a);
    expect(registry.remove('s1', '1')).toBe(a);
    expect(registry.remove('s1', '1')).toBeUndefined();
    expect(registry.remove('nobody', '1')).toBeUndefined();
    expect(registry.size).toBe(0);
    expect(registry.destinationCount).toBe(0);
    expect(registry.sessionSubscriptions('s1')).toEqual([]);
  });

  it('removes all of a session’s subscriptions in subscription order, leaving other sessions alone', () => {
    const registry = new SubscriptionRegistry();
    const mine = [entry('s1', '1', '/topic/a'), entry('s1', '2', '/topic/b'), entry('s1', '3', '/topic/a')];
    const theirs = entry('s2', '1', '/topic/a');
    [...mine, theirs].forEach((e) => registry.add(e));
    expect(registry.removeSession('s1')).toEqual(mine);
    expect(registry.removeSession('s1')).toEqual([]);
    expect(registry.size).toBe(1);
    expect([...(registry.subscribers('/topic/a') ?? [])]).toEqual([theirs]);
    expect(registry.subscribers('/topic/b')).toBeUndefined();
  });

  it('keeps a session from one subscription to many and back', () => {
    const registry = new SubscriptionRegistry();
    const [a, b, c] = ['1', '2', '3'].map((id) => entry('s1', id, `/topic/${id}`));
    registry.add(a);
    expect(registry.add(entry('s1', '1', '/topic/other'))).toBe(false);
    registry.add(b);
    registry.add(c);
    expect(registry.add(entry('s1', '2', '/topic/other'))).toBe(false);
    expect(registry.sessionSubscriptions('s1')).toEqual([a, b, c]);
    expect(registry.remove('s1', '1')).toBe(a);
    expect(registry.get('s1', '1')).toBeUndefined();
    expect(registry.get('s1', '3')).toBe(c);
    expect(registry.remove('s1', '3')).toBe(c);
    expect(registry.remove('s1', '2')).toBe(b);
    expect(registry.sessionSubscriptions('s1')).toEqual([]);
    expect(registry.add(a)).toBe(true);
    expect(registry.get('s1', '1')).toBe(a);
    expect(registry.get('s1', '2')).toBeUndefined();
    expect(registry.removeSession('s1')).toEqual([a]);
    expect(registry.size).toBe(0);
    expect(registry.destinationCount).toBe(0);
  });

  it('lets a caller iterate a destination while members are removed and added', () => {
    const registry = new SubscriptionRegistry();
    const entries = ['1', '2', '3'].map((id) => entry('s', id, '/t'));
    entries.forEach((e) => registry.add(e));
    const seen: string[] = [];
    for (const e of registry.subscribers('/t') ?? []) {
      seen.push(e.id);
      if (e.id === '1') registry.remove('s', '2');
    }
    expect(seen).toEqual(['1', '3']);
  });
});
