import fc from 'fast-check';
import {
  PatternIndex,
  destinationSegments,
  isDestinationPattern,
  matchSegments,
  matchesDestination,
} from '../../src/broker/pattern-index';
import type { DestinationSeparator } from '../../src/broker/pattern-index';
import { SubscriptionRegistry } from '../../src/broker/subscription-registry';
import type { RegistryEntry } from '../../src/broker/subscription-registry';

/** Reference splitting, written independently of destinationSegments. */
function refSegments(destination: string, separator: DestinationSeparator): string[] {
  if (separator === '/') return destination.split('/');
  const slash = destination.lastIndexOf('/');
  return [destination.slice(0, slash + 1), ...destination.slice(slash + 1).split('.')];
}

/** The naive reference: plain recursion over both segment lists (exponential, fine for tests). */
function refMatch(pattern: string[], destination: string[]): boolean {
  if (pattern.length === 0) return destination.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') return refMatch(rest, destination) || (destination.length > 0 && refMatch(pattern, destination.slice(1)));
  if (destination.length === 0) return false;
  if (head === '*') return destination[0] !== '' && refMatch(rest, destination.slice(1));
  return head === destination[0] && refMatch(rest, destination.slice(1));
}

function refIsPattern(destination: string, separator: DestinationSeparator): boolean {
  const segments = refSegments(destination, separator);
  return segments.some((s, i) => (separator === '/' || i > 0) && (s === '*' || s === '**'));
}

function refMatches(pattern: string, destination: string, separator: DestinationSeparator): boolean {
  if (!refIsPattern(pattern, separator)) return pattern === destination;
  return refMatch(refSegments(pattern, separator), refSegments(destination, separator));
}

/** The ids of the subscribers the index returns for `destination`, sorted. */
function matched(index: PatternIndex<string>, destination: string): string[] {
  return index.match(destination).flatMap((set) => [...set]).sort();
}

function indexOf(separator: DestinationSeparator, patterns: Record<string, string>, cacheSize?: number): PatternIndex<string> {
  const index = new PatternIndex<string>({ separator, cacheSize });
  for (const [id, pattern] of Object.entries(patterns)) index.add(pattern, id);
  return index;
}

describe('destination segments and pattern detection', () => {
  it("splits the whole destination on '/' with the default separator", () => {
    expect(destinationSegments('/topic/stocks/*', '/')).toEqual(['', 'topic', 'stocks', '*']);
    expect(destinationSegments('/topic/', '/')).toEqual(['', 'topic', '']);
  });

  it("keeps everything up to the last '/' as one root segment with '.'", () => {
    expect(destinationSegments('/topic/stocks.*.nasdaq', '.')).toEqual(['/topic/', 'stocks', '*', 'nasdaq']);
    expect(destinationSegments('/topic/*.nasdaq', '.')).toEqual(['/topic/', '*', 'nasdaq']);
    expect(destinationSegments('/topic.stocks.*', '.')).toEqual(['/', 'topic', 'stocks', '*']);
    expect(destinationSegments('/exchange/amq.topic/a.b', '.')).toEqual(['/exchange/amq.topic/', 'a', 'b']);
    expect(destinationSegments('stocks.*', '.')).toEqual(['', 'stocks', '*']);
  });

  it('treats only segments that are exactly * or ** as wildcards', () => {
    expect(isDestinationPattern('/topic/a/*')).toBe(true);
    expect(isDestinationPattern('/topic/**')).toBe(true);
    expect(isDestinationPattern('/topic/**/x')).toBe(true);
    expect(isDestinationPattern('/topic/a*')).toBe(false);
    expect(isDestinationPattern('/topic/*a')).toBe(false);
    expect(isDestinationPattern('/topic/***')).toBe(false);
    expect(isDestinationPattern('/topic/a.*')).toBe(false);
    expect(isDestinationPattern('/topic/a.*', '.')).toBe(true);
    expect(isDestinationPattern('/topic/a/*', '.')).toBe(true); // '*' is the whole last component
    expect(isDestinationPattern('/topic/*/a', '.')).toBe(false); // '*' sits in the fixed root
    expect(isDestinationPattern('/topic/*/a.b', '.')).toBe(false);
    expect(isDestinationPattern('/topic/**', '.')).toBe(true);
  });
});

describe('matching one pattern', () => {
  const cases: Array<[string, string, boolean, DestinationSeparator?]> = [
    ['/topic/a/*', '/topic/a/b', true],
    ['/topic/a/*', '/topic/a', false],
    ['/topic/a/*', '/topic/a/', false],
    ['/topic/a/*', '/topic/a/b/c', false],
    ['/topic/*/c', '/topic/b/c', true],
    ['/topic/*/c', '/topic//c', false],
    ['/topic/**', '/topic', true],
    ['/topic/**', '/topic/', true],
    ['/topic/**', '/topic/a/b/c', true],
    ['/topic/**', '/topics/a', false],
    ['/**', '/anything/at/all', true],
    ['**', '', true],
    ['/topic/**/x', '/topic/x', true],
    ['/topic/**/x', '/topic/a/b/x', true],
    ['/topic/**/x', '/topic/a/b/y', false],
    ['/topic/**/x/**', '/topic/x', true],
    ['/topic/**/x/**', '/topic/a/x/b/c', true],
    ['/topic/**/*/end', '/topic/end', false],
    ['/topic/**/*/end', '/topic/a/end', true],
    ['/topic/**/**/z', '/topic/a/b/z', true],
    ['/topic/a*', '/topic/ab', false],
    ['/topic/a*', '/topic/a*', true],
    ['/topic/stocks.*.nasdaq', '/topic/stocks.aapl.nasdaq', true, '.'],
    ['/topic/stocks.*.nasdaq', '/topic/stocks..nasdaq', false, '.'],
    ['/topic/stocks.*', '/topic/stocks.aapl.nasdaq', false, '.'],
    ['/topic/stocks.**', '/topic/stocks', true, '.'],
    ['/topic/stocks.**', '/topic/stocks.aapl.nasdaq', true, '.'],
    ['/topic/**', '/topic/a.b.c', true, '.'],
    ['/topic/**', '/topic/a/b.c', false, '.'],
    ['/topic/**.nasdaq', '/topic/nasdaq', true, '.'],
    ['/topic/*.nasdaq', '/topic/aapl.nasdaq', true, '.'],
    ['/topic/*.nasdaq', '/queue/aapl.nasdaq', false, '.'],
    ['/topic.*', '/topic.a', true, '.'],
    ['/topic/a/*', '/topic/a/b', true, '.'],
    ['/topic/*/a', '/topic/x/a', false, '.'], // with '.', a '*' before the last '/' is literal
    ['/topic/*/a', '/topic/*/a', true, '.'],
  ];
  it.each(cases.map(([p, d, e, s]) => [p, d, e, s ?? '/'] as const))("%s against %s → %s (separator '%s')", (pattern, destination, expected, separator) => {
    expect(matchesDestination(pattern, destination, separator)).toBe(expected);
    expect(refMatches(pattern, destination, separator)).toBe(expected);
  });

  it('agrees with the naive reference on random segment lists', () => {
    const segment = fc.constantFrom('a', 'b', '', '*', '**');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 7 }), fc.array(fc.constantFrom('a', 'b', '', 'c', '*'), { maxLength: 8 }), (pattern, destination) => {
        expect(matchSegments(pattern, destination)).toBe(refMatch(pattern, destination));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('PatternIndex', () => {
  it('finds every matching pattern among many, each once', () => {
    const index = indexOf('/', {
      p1: '/topic/a/*',
      p2: '/topic/**',
      p3: '/topic/*/b',
      p4: '/topic/a/**',
      p5: '/topic/**/b',
      p6: '/topic/**/**/b',
      p7: '/**',
      p8: '/topic/c/*',
      p9: '/topic/a/*/*',
      p10: '**',
    });
    expect(matched(index, '/topic/a/b')).toEqual(['p1', 'p10', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
    expect(matched(index, '/topic/a')).toEqual(['p10', 'p2', 'p4', 'p7']);
    expect(matched(index, '/topic/c/d')).toEqual(['p10', 'p2', 'p7', 'p8']);
    expect(matched(index, '/queue/x')).toEqual(['p10', 'p7']);
    expect(matched(index, 'relative')).toEqual(['p10']);
  });

  it('puts subscribers of the same pattern in one Set', () => {
    const index = indexOf('/', { a: '/topic/*', b: '/topic/*', c: '/topic/**' });
    const sets = index.match('/topic/x');
    expect(sets.map((s) => [...s].sort())).toEqual(expect.arrayContaining([['a', 'b'], ['c']]));
    expect(sets).toHaveLength(2);
    expect(index.size).toBe(2);
    expect([...index.keys()].sort()).toEqual(['/topic/*', '/topic/**']);
  });

  it("supports '**' at the start, in the middle and at the end", () => {
    const index = indexOf('/', { start: '**/end', middle: '/topic/**/end', end: '/topic/**' });
    expect(matched(index, '/topic/end')).toEqual(['end', 'middle', 'start']);
    expect(matched(index, 'end')).toEqual(['start']);
    expect(matched(index, '/topic/x/y/end')).toEqual(['end', 'middle', 'start']);
    expect(matched(index, '/topic/x/y')).toEqual(['end']);
  });

  it("does not let '*' match an empty segment, but lets '**' span empty ones", () => {
    const index = indexOf('/', { star: '/topic/*/x', globstar: '/topic/**/x' });
    expect(matched(index, '/topic//x')).toEqual(['globstar']);
    expect(matched(index, '/topic/a/x')).toEqual(['globstar', 'star']);
  });

  it("matches with '.' inside the last path component only", () => {
    const index = indexOf('.', { star: '/topic/stocks.*.nasdaq', any: '/topic/stocks.**', all: '/topic/**', dotted: '/topic.*' });
    expect(matched(index, '/topic/stocks.aapl.nasdaq')).toEqual(['all', 'any', 'star']);
    expect(matched(index, '/topic/stocks')).toEqual(['all', 'any']);
    expect(matched(index, '/topic/other/stocks.aapl.nasdaq')).toEqual([]);
    expect(matched(index, '/topic.x')).toEqual(['dotted']);
  });

  it('prunes removed patterns and reports removal of unknown subscribers', () => {
    const index = indexOf('/', { a: '/topic/a/*', b: '/topic/a/**' });
    expect(index.remove('/topic/a/*', 'zzz')).toBe(false);
    expect(index.remove('/topic/nothing/*', 'a')).toBe(false);
    expect(index.remove('/topic/a/*', 'a')).toBe(true);
    expect(index.remove('/topic/a/*', 'a')).toBe(false);
    expect(matched(index, '/topic/a/x')).toEqual(['b']);
    expect(index.remove('/topic/a/**', 'b')).toBe(true);
    expect(index.size).toBe(0);
    expect([...index.keys()]).toEqual([]);
    expect(matched(index, '/topic/a/x')).toEqual([]);
    // The trie is empty again: re-adding works from scratch.
    index.add('/topic/a/*', 'c');
    expect(matched(index, '/topic/a/x')).toEqual(['c']);
  });

  it('refuses a bad separator or cache size', () => {
    expect(() => new PatternIndex({ separator: ':' as DestinationSeparator })).toThrow("destinationSeparator must be '/' or '.'");
    expect(() => new PatternIndex({ cacheSize: -1 })).toThrow('patternCacheSize must be an integer ≥ 0');
  });
});

describe('PatternIndex cache', () => {
  it('serves a repeated destination from the cache, including destinations that match nothing', () => {
    const index = indexOf('/', { a: '/topic/a/*' });
    matched(index, '/topic/a/x');
    matched(index, '/topic/a/x');
    matched(index, '/topic/none');
    matched(index, '/topic/none');
    expect(index.cacheStats()).toEqual({ size: 2, hits: 2, misses: 2 });
  });

  it('gives a destination cached before a pattern existed that pattern on the next look-up', () => {
    const index = indexOf('/', { a: '/topic/a/*' });
    expect(matched(index, '/topic/a/x')).toEqual(['a']);
    expect(matched(index, '/topic/b/x')).toEqual([]);
    index.add('/topic/*/x', 'b');
    expect(matched(index, '/topic/a/x')).toEqual(['a', 'b']);
    expect(matched(index, '/topic/b/x')).toEqual(['b']);
    expect(index.cacheStats().misses).toBe(2); // both answered from the (updated) cache
  });

  it('drops a pattern from cached destinations once its last subscriber leaves', () => {
    const index = indexOf('/', { a: '/topic/*/x', b: '/topic/*/x', c: '/topic/**' });
    expect(matched(index, '/topic/a/x')).toEqual(['a', 'b', 'c']);
    index.remove('/topic/*/x', 'a');
    expect(matched(index, '/topic/a/x')).toEqual(['b', 'c']);
    index.remove('/topic/*/x', 'b');
    expect(matched(index, '/topic/a/x')).toEqual(['c']);
    expect(index.match('/topic/a/x')).toHaveLength(1); // the emptied Set is gone, not left behind
    index.remove('/topic/**', 'c');
    expect(matched(index, '/topic/a/x')).toEqual([]);
    index.add('/topic/*/x', 'd');
    expect(matched(index, '/topic/a/x')).toEqual(['d']);
  });

  it('never changes an array it handed out (copy-on-write)', () => {
    const index = indexOf('/', { a: '/topic/*' });
    const before = index.match('/topic/x');
    index.add('/topic/**', 'b');
    index.remove('/topic/*', 'a');
    expect(before).toHaveLength(1);
    expect(index.match('/topic/x')).toHaveLength(1);
    expect([...index.match('/topic/x')[0]]).toEqual(['b']);
  });

  it('evicts the least recently used destination when full (second chance for destinations hit since)', () => {
    const index = indexOf('/', { a: '/topic/*' }, 2);
    index.match('/topic/1');
    index.match('/topic/2');
    index.match('/topic/1'); // 1 is now the most recent
    index.match('/topic/3'); // 1 was hit: it gets a second chance, and 2 goes
    const { misses } = index.cacheStats();
    index.match('/topic/1');
    expect(index.cacheStats().misses).toBe(misses);
    index.match('/topic/2');
    expect(index.cacheStats().misses).toBe(misses + 1);
    expect(index.cacheStats().size).toBe(2);
  });

  it('finds the cached destinations a new pattern matches through the cached-destination trie', () => {
    const index = indexOf('/', { seed: '/nothing/*' });
    const destinations = ['/topic/a/x', '/topic/a/b/x', '/topic/x', '/topic/a/y', '/queue/a/x', '/topic//x'];
    for (const d of destinations) expect(matched(index, d)).toEqual([]);
    index.add('/topic/**/x', 'deep');
    index.add('/topic/*/x', 'one');
    index.add('/**/**/x', 'any');
    const misses = index.cacheStats().misses;
    expect(Object.fromEntries(destinations.map((d) => [d, matched(index, d)]))).toEqual({
      '/topic/a/x': ['any', 'deep', 'one'],
      '/topic/a/b/x': ['any', 'deep'],
      '/topic/x': ['any', 'deep'],
      '/topic/a/y': [],
      '/queue/a/x': ['any'],
      '/topic//x': ['any', 'deep'],
    });
    expect(index.cacheStats().misses).toBe(misses);
  });

  it('handles a destination with 50,000 segments without deep recursion', () => {
    const index = indexOf('/', { a: '/topic/*' });
    const deep = '/topic' + '/s'.repeat(50_000);
    expect(matched(index, deep)).toEqual([]);
    index.add('/topic/**', 'all');
    index.add('/**/s/**/s', 'ss');
    expect(matched(index, deep)).toEqual(['all', 'ss']);
    index.remove('/topic/**', 'all');
    expect(matched(index, deep)).toEqual(['ss']);
  });

  it('walks the trie every time with cacheSize 0', () => {
    const index = indexOf('/', { a: '/topic/*' }, 0);
    expect(matched(index, '/topic/x')).toEqual(['a']);
    expect(matched(index, '/topic/x')).toEqual(['a']);
    expect(index.cacheStats()).toEqual({ size: 0, hits: 0, misses: 2 });
  });
});

describe('SubscriptionRegistry with patterns, against a naive reference', () => {
  type Op = { kind: 'add'; session: number; id: number; destination: string } | { kind: 'remove'; session: number; id: number } | { kind: 'drop'; session: number } | { kind: 'match'; destination: string };

  function destinationArb(separator: DestinationSeparator, wildcards: boolean): fc.Arbitrary<string> {
    const segment = wildcards ? fc.constantFrom('a', 'b', '', '*', '**', 'a*') : fc.constantFrom('a', 'b', '', 'c');
    if (separator === '/') return fc.array(segment, { maxLength: 5 }).map((s) => '/topic/' + s.join('/'));
    return fc.tuple(fc.constantFrom('/topic/', '/t/', '', '/topic/a/'), fc.array(segment, { minLength: 1, maxLength: 5 })).map(([root, s]) => root + s.join('.'));
  }

  function opArb(separator: DestinationSeparator): fc.Arbitrary<Op> {
    const session = fc.integer({ min: 0, max: 3 });
    const id = fc.integer({ min: 0, max: 3 });
    return fc.oneof(
      fc.record({ kind: fc.constant('add' as const), session, id, destination: destinationArb(separator, true) }),
      fc.record({ kind: fc.constant('remove' as const), session, id }),
      fc.record({ kind: fc.constant('drop' as const), session }),
      fc.record({ kind: fc.constant('match' as const), destination: destinationArb(separator, false) }),
      fc.record({ kind: fc.constant('match' as const), destination: destinationArb(separator, false) }),
    );
  }

  for (const separator of ['/', '.'] as const) {
    it(`returns exactly the subscriptions whose destination matches, each once (separator '${separator}')`, () => {
      fc.assert(
        fc.property(fc.constantFrom(0, 1, 3, 1024), fc.array(opArb(separator), { maxLength: 80 }), (cacheSize, ops) => {
          const registry = new SubscriptionRegistry<RegistryEntry>({ separator, patternCacheSize: cacheSize });
          const model = new Map<string, RegistryEntry>();
          for (const op of ops) {
            if (op.kind === 'add') {
              const entry = { sessionId: `s${op.session}`, id: `${op.id}`, destination: op.destination };
              const key = `${entry.sessionId}/${entry.id}`;
              expect(registry.add(entry)).toBe(!model.has(key));
              if (!model.has(key)) model.set(key, entry);
            } else if (op.kind === 'remove') {
              const key = `s${op.session}/${op.id}`;
              expect(registry.remove(`s${op.session}`, `${op.id}`)).toBe(model.get(key));
              model.delete(key);
            } else if (op.kind === 'drop') {
              registry.removeSession(`s${op.session}`);
              for (const [key, e] of model) if (e.sessionId === `s${op.session}`) model.delete(key);
            } else {
              const found = [...(registry.subscribers(op.destination) ?? []), ...registry.patternSubscribers(op.destination).flatMap((s) => [...s])];
              const expected = [...model.values()].filter((e) => refMatches(e.destination, op.destination, separator));
              expect(found).toHaveLength(new Set(found).size);
              expect(new Set(found)).toEqual(new Set(expected));
            }
            expect(registry.size).toBe(model.size);
            expect(registry.destinationCount).toBe(new Set([...model.values()].map((e) => e.destination)).size);
            expect(new Set(registry.destinations())).toEqual(new Set([...model.values()].map((e) => e.destination)));
          }
        }),
        { numRuns: 500 },
      );
    });
  }
});
