/**
 * Handler destination patterns: matching, path variables, specificity, placeholders.
 */
import { PathPattern, expandPlaceholders, joinPatterns, placeholders } from '../../src/app/path-pattern';

describe('PathPattern', () => {
  it.each([
    ['/chat', '/chat', {}],
    ['/chat/{room}', '/chat/general', { room: 'general' }],
    ['/chat/{room}/{user}', '/chat/a/b', { room: 'a', user: 'b' }],
    ['/chat/*', '/chat/x', {}],
    ['/chat/*', '/chat/', {}],
    ['/files/**', '/files/a/b/c', {}],
    ['/a.{b}', '/a.x', { b: 'x' }],
  ])('%s matches %s', (pattern, path, params) => {
    expect(new PathPattern(pattern).match(path)).toEqual(params);
  });

  it.each([
    ['/chat', '/chat/x'],
    ['/chat/{room}', '/chat/'],
    ['/chat/{room}', '/chat/a/b'],
    ['/chat/*', '/chat/a/b'],
    ['/a.b', '/aXb'],
    ['/a(b)', '/ab'],
  ])('%s does not match %s', (pattern, path) => {
    expect(new PathPattern(pattern).match(path)).toBeUndefined();
  });

  it('ranks literal over variables over ** (Spring AntPatternComparator)', () => {
    const sorted = ['/a/**', '/a/{x}/{y}', '/a/{x}/b', '/a/c/b'].map((p) => new PathPattern(p)).sort((p, q) => p.compare(q));
    expect(sorted.map((p) => p.source)).toEqual(['/a/c/b', '/a/{x}/b', '/a/{x}/{y}', '/a/**']);
  });

  it('erases variable names in its key, so equivalent patterns clash', () => {
    expect(new PathPattern('/a/{x}').key).toBe(new PathPattern('/a/{y}').key);
  });

  it('refuses patterns without a leading slash and repeated variables', () => {
    expect(() => new PathPattern('chat')).toThrow("must start with '/'");
    expect(() => new PathPattern('/{a}/{a}')).toThrow('appears twice');
  });
});

describe('placeholders', () => {
  it('lists, expands and joins', () => {
    expect(placeholders('/topic/{room}/{user}')).toEqual(['room', 'user']);
    expect(expandPlaceholders('/topic/{room}', { room: 'lobby' })).toBe('/topic/lobby');
    expect(joinPatterns('/rooms', '/{room}')).toBe('/rooms/{room}');
    expect(joinPatterns('/rooms/', '{room}')).toBe('/rooms/{room}');
    expect(joinPatterns('/rooms', '')).toBe('/rooms');
    expect(joinPatterns('', '/x')).toBe('/x');
  });
});
