import { SubscriptionTable } from '../../src/session/subscription-table';

describe('SubscriptionTable', () => {
  it('reads like a Map with none, one and many entries, in insertion order', () => {
    const table = new SubscriptionTable<string>();
    const asMap = (): Array<[string, string]> => [...table];
    expect(table.size).toBe(0);
    expect(asMap()).toEqual([]);
    expect(table.get('a')).toBeUndefined();
    table.set('a', 'A');
    expect([table.size, table.has('a'), table.has('b'), table.get('a')]).toEqual([1, true, false, 'A']);
    table.set('a', 'A2');
    expect(asMap()).toEqual([['a', 'A2']]);
    table.set('b', 'B').set('c', 'C');
    expect([...table.keys()]).toEqual(['a', 'b', 'c']);
    expect([...table.values()]).toEqual(['A2', 'B', 'C']);
    expect(table.delete('b')).toBe(true);
    expect(table.delete('b')).toBe(false);
    const seen: string[] = [];
    table.forEach((value, key, map) => seen.push(`${key}=${value}/${map.size}`));
    expect(seen).toEqual(['a=A2/2', 'c=C/2']);
    expect(table.delete('a') && table.delete('c')).toBe(true);
    expect([table.size, asMap()]).toEqual([0, []]);
    table.set('d', 'D');
    expect([...table.entries()]).toEqual([['d', 'D']]);
    expect(table.delete('x')).toBe(false);
    expect(table.delete('d')).toBe(true);
    expect(table.size).toBe(0);
  });
});
