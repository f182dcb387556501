import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { compileLike, compileSelector } from '../../src/broker/selector';
import type { MessageFilter } from '../../src/broker/selector';
import type { BrokerMessage } from '../../src/broker/types';
import { StompError, isStompError } from '../../src/errors';

function message(headers: Record<string, string> | Array<[string, string]> = {}, fields: Partial<BrokerMessage> = {}): BrokerMessage {
  return {
    id: 'm-1',
    destination: '/topic/t',
    headers: Array.isArray(headers) ? headers : Object.entries(headers),
    body: Buffer.alloc(0),
    ...fields,
  };
}

function compile(source: string): MessageFilter {
  const filter = compileSelector(source);
  if (filter === undefined) throw new Error(`'${source}' compiled to no filter`);
  return filter;
}

function selects(source: string, headers: Record<string, string> | Array<[string, string]> = {}, fields: Partial<BrokerMessage> = {}): boolean {
  return compile(source)(message(headers, fields));
}

function errorOf(source: string, options?: Parameters<typeof compileSelector>[1]): StompError {
  try {
    compileSelector(source, options);
  } catch (err) {
    if (!isStompError(err)) throw new Error(`threw a non-StompError: ${String(err)}`);
    return err;
  }
  throw new Error(`'${source}' compiled`);
}

describe('selector comparisons', () => {
  it.each([
    ["type = 'x'", { type: 'x' }, true],
    ["type = 'x'", { type: 'y' }, false],
    ["type = 'x'", { type: 'X' }, false],
    ["type <> 'x'", { type: 'y' }, true],
    ["type <> 'x'", { type: 'x' }, false],
    ["name < 'b'", { name: 'a' }, true],
    ["name > 'b'", { name: 'c' }, true],
    ["name <= 'b'", { name: 'b' }, true],
    ["name >= 'b'", { name: 'a' }, false],
    ["'x' = type", { type: 'x' }, true],
    ['a = b', { a: 'same', b: 'same' }, true],
    ['a = b', { a: 'same', b: 'other' }, false],
    ["note = 'it''s'", { note: "it's" }, true],
    ["note = ''", { note: '' }, true],
  ] as const)('%s with %j → %s', (source, headers, expected) => {
    expect(selects(source, headers)).toBe(expected);
  });

  it.each([
    ['priority > 5', '6', true],
    ['priority > 5', '5', false],
    ['priority > 5', '10', true], // numeric, not '10' < '5' as strings
    ['priority >= 5', '5.0', true],
    ['priority = 5', '5.0', true],
    ['priority <> 5', '4', true],
    ['priority < -1.5', '-2', true],
    ['priority <= 1e3', '1000', true],
    ['priority > 5', '1e1', true],
    ['priority > 5', 'high', false],
    ['priority <> 5', 'high', false],
    ['priority > -5', '', false],
    ['priority = 0', '', false], // not Number(''), which is 0
    ['priority = 5', ' 5', false],
    ['priority = 16', '0x10', false],
    ['priority = 5', '+5', false],
    ["5 = '5'", '', true],
  ] as const)('%s with priority %j → %s', (source, value, expected) => {
    expect(selects(source, { priority: value })).toBe(expected);
  });
});

describe('selector logic', () => {
  it('combines with AND, OR and NOT, AND binding tighter than OR and NOT tighter than AND', () => {
    const s = "a = '1' OR b = '1' AND c = '1'";
    expect(selects(s, { a: '1', b: '0', c: '0' })).toBe(true);
    expect(selects(s, { a: '0', b: '1', c: '0' })).toBe(false);
    expect(selects(s, { a: '0', b: '1', c: '1' })).toBe(true);
    expect(selects("(a = '1' OR b = '1') AND c = '1'", { a: '1', b: '0', c: '0' })).toBe(false);
    expect(selects("NOT a = '1' AND b = '1'", { a: '0', b: '1' })).toBe(true);
    expect(selects("NOT (a = '1' AND b = '1')", { a: '1', b: '0' })).toBe(true);
    expect(selects("NOT NOT a = '1'", { a: '1' })).toBe(true);
  });

  it('reads keywords in any case', () => {
    expect(selects("type = 'x' and priority > 5 Or not (x is null)", { type: 'x', priority: '6' })).toBe(true);
    expect(selects("kind in ('a') AND name like 'a%' AND z IS not NULL", { kind: 'a', name: 'ab', z: '' })).toBe(true);
  });

  it('accepts TRUE and FALSE as conditions and as the strings true / false', () => {
    expect(selects('TRUE')).toBe(true);
    expect(selects('FALSE')).toBe(false);
    expect(selects('NOT FALSE')).toBe(true);
    expect(selects('true OR x = 1')).toBe(true);
    expect(selects('flag = TRUE', { flag: 'true' })).toBe(true);
    expect(selects('flag = FALSE', { flag: 'true' })).toBe(false);
    expect(selects('TRUE = flag', { flag: 'true' })).toBe(true);
  });

  it('uses three-valued logic: a missing header makes a comparison UNKNOWN, and only TRUE selects', () => {
    expect(selects("type = 'x'")).toBe(false);
    expect(selects("type <> 'x'")).toBe(false);
    expect(selects("NOT (type = 'x')")).toBe(false);
    expect(selects("NOT type IN ('x')")).toBe(false);
    expect(selects("type NOT IN ('x')")).toBe(false);
    expect(selects("type NOT LIKE 'x%'")).toBe(false);
    expect(selects("type = 'x' OR TRUE")).toBe(true); // UNKNOWN OR TRUE
    expect(selects("NOT (type = 'x' AND FALSE)")).toBe(true); // NOT (UNKNOWN AND FALSE) = NOT FALSE
    expect(selects("NOT (type = 'x' OR FALSE)")).toBe(false); // NOT UNKNOWN
    expect(selects("type IS NULL OR type <> 'x'")).toBe(true);
    expect(selects("type IS NULL OR type <> 'x'", { type: 'x' })).toBe(false);
  });
});

describe('selector predicates', () => {
  it('IN and NOT IN compare like = with each listed string or number', () => {
    expect(selects("kind IN ('a', 'b')", { kind: 'b' })).toBe(true);
    expect(selects("kind IN ('a', 'b')", { kind: 'c' })).toBe(false);
    expect(selects("kind NOT IN ('a', 'b')", { kind: 'c' })).toBe(true);
    expect(selects("kind NOT IN ('a', 'b')", { kind: 'a' })).toBe(false);
    expect(selects('level IN (1, 2.5)', { level: '2.50' })).toBe(true);
    expect(selects("level IN (1, '2')", { level: '2' })).toBe(true);
    expect(selects('level IN (1, 2)', { level: 'one' })).toBe(false);
  });

  it("LIKE matches % as any run and _ as one character, everything else literally", () => {
    expect(selects("name LIKE 'a%b_'", { name: 'axxbz' })).toBe(true);
    expect(selects("name LIKE 'a%b_'", { name: 'abz' })).toBe(true);
    expect(selects("name LIKE 'a%b_'", { name: 'ab' })).toBe(false);
    expect(selects("name LIKE 'a%b_'", { name: 'xabz' })).toBe(false);
    expect(selects("name LIKE '%'", { name: '' })).toBe(true);
    expect(selects("name LIKE '_'", { name: '' })).toBe(false);
    expect(selects("name LIKE 'a.c'", { name: 'abc' })).toBe(false); // '.' is not a regex wildcard
    expect(selects("name LIKE '(a+)+$'", { name: '(a+)+$' })).toBe(true);
    expect(selects("name LIKE '_'", { name: '😀' })).toBe(true); // one code point, two UTF-16 units
    expect(selects("name LIKE '%😀_'", { name: 'x😀😀' })).toBe(true);
    expect(selects("name NOT LIKE 'a%'", { name: 'ba' })).toBe(true);
    expect(selects("name NOT LIKE 'a%'", { name: 'ab' })).toBe(false);
  });

  it('LIKE … ESCAPE makes %, _ and the escape itself literal', () => {
    expect(selects("code LIKE '100\\%' ESCAPE '\\'", { code: '100%' })).toBe(true);
    expect(selects("code LIKE '100\\%' ESCAPE '\\'", { code: '1000' })).toBe(false);
    expect(selects("code LIKE 'a!_b' ESCAPE '!'", { code: 'a_b' })).toBe(true);
    expect(selects("code LIKE 'a!_b' ESCAPE '!'", { code: 'axb' })).toBe(false);
    expect(selects("code LIKE 'a!!%' ESCAPE '!'", { code: 'a!zz' })).toBe(true);
    expect(selects("code LIKE 'a\\b'", { code: 'a\\b' })).toBe(true); // no ESCAPE: '\' is literal
  });

  it('IS NULL and IS NOT NULL test whether the header is present', () => {
    expect(selects('trace IS NULL')).toBe(true);
    expect(selects('trace IS NULL', { trace: '' })).toBe(false);
    expect(selects('trace IS NOT NULL', { trace: '' })).toBe(true);
    expect(selects("'x' IS NULL")).toBe(false);
  });
});

describe('selector identifiers', () => {
  it("allows '-' and '.' in header names and quotes odd names in double quotes", () => {
    expect(selects("x-trace.id = 'a'", { 'x-trace.id': 'a' })).toBe(true);
    expect(selects(`"odd name" = 'a'`, { 'odd name': 'a' })).toBe(true);
    expect(selects(`"say ""hi""" = 'a'`, { 'say "hi"': 'a' })).toBe(true);
    expect(selects(`"and" = 'a'`, { and: 'a' })).toBe(true);
    expect(selects(`"é" = 'a'`, { é: 'a' })).toBe(true);
  });

  it('is case-sensitive and reads the first of repeated headers', () => {
    expect(selects("Type = 'x'", { type: 'x' })).toBe(false);
    expect(selects("type = 'x'", [['type', 'x'], ['type', 'y']])).toBe(true);
    expect(selects("type = 'y'", [['type', 'x'], ['type', 'y']])).toBe(false);
  });

  it('reads destination and content-type from the message itself', () => {
    expect(selects("destination LIKE '/topic/%'")).toBe(true);
    expect(selects("content-type = 'application/json'", {}, { contentType: 'application/json' })).toBe(true);
    expect(selects('content-type IS NULL')).toBe(true);
  });

  it('treats a blank selector as no selector', () => {
    expect(compileSelector('')).toBeUndefined();
    expect(compileSelector(' \t\r\n')).toBeUndefined();
  });
});

describe('selector errors', () => {
  it.each([
    ["type = 'x' AND priority >", "invalid selector at position 26: expected a value after '>'"],
    ['type =', "invalid selector at position 7: expected a value after '='"],
    ['type = )', "invalid selector at position 8: expected a value after '=' but found ')'"],
    ['type = AND', "invalid selector at position 8: expected a value after '=' but found AND"],
    ['AND x = 1', 'invalid selector at position 1: expected a condition but found AND'],
    ["type = 'x' AND", 'invalid selector at position 15: expected a condition after AND'],
    ["type = 'x' OR OR", 'invalid selector at position 15: expected a condition after OR but found OR'],
    ['NOT', 'invalid selector at position 4: expected a condition after NOT'],
    ['()', "invalid selector at position 2: expected a condition after '(' but found ')'"],
    ['urgent', "invalid selector at position 7: expected an operator (=, <>, <, >, <=, >=, IN, LIKE or IS) after 'urgent'"],
    ["type 'x'", "invalid selector at position 6: expected an operator (=, <>, <, >, <=, >=, IN, LIKE or IS) after 'type' but found the string 'x'"],
    ["(type = 'x'", "invalid selector at position 12: expected ')' to close the '(' at position 1 but found the end of the selector"],
    ["type = 'x')", "invalid selector at position 11: unexpected ')' without a matching '('"],
    ["type = 'x' priority = 1", "invalid selector at position 12: expected AND, OR or the end of the selector but found 'priority'"],
    ["type = 'x", "invalid selector at position 8: unterminated string (a quote inside a string is written '')"],
    ['"type = 1', 'invalid selector at position 1: unterminated quoted identifier'],
    ['"" = 1', 'invalid selector at position 1: empty quoted identifier ""'],
    ['a != 1', "invalid selector at position 3: '!=' is not an operator (use <> for not equal)"],
    ['a == 1', "invalid selector at position 3: '==' is not an operator (use = for equality)"],
    ['a = 1 && b = 2', "invalid selector at position 7: '&&' is not an operator (use AND)"],
    ['a = 1 || b = 2', "invalid selector at position 7: '||' is not an operator (use OR)"],
    ['!a', "invalid selector at position 1: unexpected character '!' (use NOT)"],
    ['a = 1; b', "invalid selector at position 6: unexpected character ';'"],
    ['a = @x', "invalid selector at position 5: unexpected character '@'"],
    ['a = 1\u0000', "invalid selector at position 6: unexpected character '\\u0000'"],
    ['é = 1', "invalid selector at position 1: unexpected character 'é'"],
    ['a = 1.', "invalid selector at position 5: invalid number '1.'"],
    ['a = 12abc', "invalid selector at position 5: invalid number '12abc'"],
    ['a = 1e', "invalid selector at position 5: invalid number '1e'"],
    ['a = - 1', "invalid selector at position 5: unexpected character '-'"],
    ['a IN', "invalid selector at position 5: expected '(' after IN"],
    ["a IN 'x'", "invalid selector at position 6: expected '(' after IN but found the string 'x'"],
    ['a IN ()', "invalid selector at position 7: expected a string or a number in the IN list but found ')'"],
    ["a IN ('x' 'y')", "invalid selector at position 11: expected ',' or ')' in the IN list but found the string 'y'"],
    ["a IN ('x', b)", "invalid selector at position 12: expected a string or a number in the IN list but found 'b'"],
    ["a IN ('x',", 'invalid selector at position 11: expected a string or a number in the IN list'],
    ['a LIKE 5', "invalid selector at position 8: expected a string pattern after LIKE but found '5'"],
    ['a like b', "invalid selector at position 8: expected a string pattern after LIKE but found 'b'"],
    ["a LIKE 'x' ESCAPE", 'invalid selector at position 18: expected a one-character string after ESCAPE'],
    ["a LIKE 'x' ESCAPE 'ab'", "invalid selector at position 19: expected a one-character string after ESCAPE but found the string 'ab'"],
    ["a LIKE 'x!y' ESCAPE '!'", "invalid selector at position 8: in the LIKE pattern, the escape character '!' must be followed by %, _ or itself"],
    ["a LIKE 'x!' ESCAPE '!'", "invalid selector at position 8: in the LIKE pattern, the escape character '!' must be followed by %, _ or itself"],
    ['a IS', 'invalid selector at position 5: expected NULL or NOT NULL after IS'],
    ["a IS 'x'", "invalid selector at position 6: expected NULL or NOT NULL after IS but found the string 'x'"],
    ['a IS NOT', 'invalid selector at position 9: expected NULL or NOT NULL after IS'],
    ['a NOT = 1', "invalid selector at position 7: expected IN or LIKE after NOT but found '='"],
    ['a NOT', 'invalid selector at position 6: expected IN or LIKE after NOT'],
  ])('%s → %s', (source, expected) => {
    const err = errorOf(source);
    expect(err).toBeInstanceOf(StompError);
    expect(err.code).toBe('STOMP_ERR_BAD_SELECTOR');
    expect(err.message).toBe(expected);
    expect(err.fatal).toBe(true);
  });

  it('puts the selector and a caret under the position in the details', () => {
    const err = errorOf("type = 'x' AND priority >");
    expect(err.details).toBe("invalid selector at position 26: expected a value after '>'\ntype = 'x' AND priority >\n                         ^");
    const source = `${'a = 1 AND '.repeat(10)}b = `;
    const long = errorOf(source);
    expect(long.details?.split('\n')[1]).toBe(`…${source.slice(-40)}`);
    expect(long.details?.split('\n')[2]).toBe(`${' '.repeat(41)}^`);
  });

  it('refuses a selector longer than the limit before parsing it', () => {
    expect(errorOf('a'.repeat(4097)).message).toBe('invalid selector: too long (4097 characters, the limit is 4096)');
    expect(errorOf("a = 'xyz'", { maxLength: 5 }).message).toBe('invalid selector: too long (9 characters, the limit is 5)');
    expect(compileSelector(`a = '${'x'.repeat(4090)}'`)).toBeDefined();
  });

  it('refuses nesting deeper than the limit, with parentheses or NOT', () => {
    const ok = `${'('.repeat(64)}a = 1${')'.repeat(64)}`;
    expect(selects(ok, { a: '1' })).toBe(true);
    expect(errorOf(`${'('.repeat(65)}a = 1${')'.repeat(65)}`).message).toBe(
      'invalid selector at position 65: nested too deeply (the limit is 64 levels of parentheses and NOT)',
    );
    expect(errorOf(`${'NOT '.repeat(65)}a = 1`).message).toBe(
      'invalid selector at position 257: nested too deeply (the limit is 64 levels of parentheses and NOT)',
    );
    expect(errorOf('((a = 1))', { maxDepth: 1 }).message).toContain('nested too deeply (the limit is 1 levels');
  });

  it('evaluates long flat AND / OR chains without deep recursion', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => `h${i} = '${i}'`).join(' OR ');
    const filter = compileSelector(chain, { maxLength: chain.length }) as MessageFilter;
    expect(filter(message({ h19999: '19999' }))).toBe(true);
    expect(filter(message({ h1: 'x' }))).toBe(false);
    const all = compileSelector(chain.replaceAll(' OR ', ' AND '), { maxLength: chain.length * 2 }) as MessageFilter;
    expect(all(message({ h0: '0' }))).toBe(false);
  });
});

describe('selectors cannot run code', () => {
  it('reads JavaScript-looking names as header names and nothing else', () => {
    expect(selects('constructor IS NULL')).toBe(true);
    expect(selects('__proto__ IS NULL')).toBe(true);
    expect(selects('toString IS NULL')).toBe(true);
    expect(selects("hasOwnProperty = 'x'", { hasOwnProperty: 'x' })).toBe(true);
    expect(selects(`"constructor" = 'function Object() { [native code] }'`)).toBe(false);
    expect(selects('process.env IS NULL')).toBe(true);
    expect(selects("__proto__ = 'x'", { __proto__: 'x' } as unknown as Record<string, string>)).toBe(false);
  });

  it('refuses calls, member access and other JavaScript as syntax errors', () => {
    expect(errorOf('process.exit()').message).toBe(
      "invalid selector at position 13: expected an operator (=, <>, <, >, <=, >=, IN, LIKE or IS) after 'process.exit' but found '('",
    );
    expect(errorOf("require('child_process')").message).toContain('position 8');
    expect(errorOf('this.constructor.constructor("return process")()').code).toBe('STOMP_ERR_BAD_SELECTOR');
    expect(errorOf("new java.lang.ProcessBuilder('x').start()").code).toBe('STOMP_ERR_BAD_SELECTOR');
    expect(errorOf('headers.foo == `${process.exit(1)}`').code).toBe('STOMP_ERR_BAD_SELECTOR');
    expect(errorOf('a = 1; process.exit(1)').code).toBe('STOMP_ERR_BAD_SELECTOR');
  });

  it('never builds code or regular expressions from selector text', () => {
    const source = readFileSync(join(__dirname, '../../src/broker/selector.ts'), 'utf8');
    expect(source).not.toMatch(/\beval\s*\(/);
    expect(source).not.toMatch(/\bFunction\s*\(/);
    expect(source).not.toMatch(/new RegExp|RegExp\(/);
  });

  it('throws nothing but STOMP_ERR_BAD_SELECTOR for any input', () => {
    const piece = fc.constantFrom(
      'a', 'b', ' ', '=', '<>', '<', '>', '<=', '>=', '!', '(', ')', ',', "'", "''", '"', '-', '.', '1', '2.5', 'e', '%', '_', '\\',
      'AND', 'OR', 'NOT', 'IN', 'LIKE', 'ESCAPE', 'IS', 'NULL', 'TRUE', 'FALSE', '__proto__', 'constructor', '😀', '\u0000',
    );
    const check = (source: string): void => {
      let filter: MessageFilter | undefined;
      try {
        filter = compileSelector(source, { maxLength: 200, maxDepth: 8 });
      } catch (err) {
        expect(isStompError(err) && err.code).toBe('STOMP_ERR_BAD_SELECTOR');
        expect((err as Error).message).toMatch(/^invalid selector(?: at position \d+)?: /);
        return;
      }
      // Whatever compiles evaluates to a boolean and never throws.
      const result = filter?.(message({ a: '1', b: 'x', __proto__: 'p' } as unknown as Record<string, string>));
      if (filter !== undefined) expect(typeof result).toBe('boolean');
    };
    fc.assert(fc.property(fc.array(piece, { maxLength: 30 }).map((p) => p.join(' ')), check), { numRuns: 3000 });
    fc.assert(fc.property(fc.array(piece, { maxLength: 30 }).map((p) => p.join('')), check), { numRuns: 3000 });
    fc.assert(fc.property(fc.string({ maxLength: 60 }), check), { numRuns: 2000 });
  });
});

// ---- properties against reference implementations ---------------------------------------------

/** Reference LIKE: dynamic programming over code points. */
function refLike(value: string, pattern: string, escape?: string): boolean {
  const items: Array<{ kind: 'any' | 'one' | 'lit'; ch?: string }> = [];
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    if (escape !== undefined && p[i] === escape) items.push({ kind: 'lit', ch: p[++i] });
    else if (p[i] === '%') items.push({ kind: 'any' });
    else if (p[i] === '_') items.push({ kind: 'one' });
    else items.push({ kind: 'lit', ch: p[i] });
  }
  const v = Array.from(value);
  // ok[i][j]: items[i..] match v[j..]
  const ok: boolean[][] = Array.from({ length: items.length + 1 }, () => new Array<boolean>(v.length + 1).fill(false));
  ok[items.length][v.length] = true;
  for (let i = items.length - 1; i >= 0; i--) {
    for (let j = v.length; j >= 0; j--) {
      const it = items[i];
      if (it.kind === 'any') ok[i][j] = ok[i + 1][j] || (j < v.length && ok[i][j + 1]);
      else if (j < v.length && (it.kind === 'one' || it.ch === v[j])) ok[i][j] = ok[i + 1][j + 1];
    }
  }
  return ok[0][0];
}

describe('LIKE against a reference matcher', () => {
  it('agrees on random patterns and values (including surrogate pairs)', () => {
    const ch = fc.constantFrom('a', 'b', '%', '_', '😀', 'é');
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 8 }), fc.array(fc.constantFrom('a', 'b', '😀', 'é', '%', '_'), { maxLength: 10 }), (pattern, value) => {
        const p = pattern.join('');
        const v = value.join('');
        expect(compileLike(p, undefined)(v)).toBe(refLike(v, p));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with an escape character', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '%', '_', '!%', '!_', '!!'), { maxLength: 6 }), fc.array(fc.constantFrom('a', '%', '_', '!'), { maxLength: 8 }), (pattern, value) => {
        const p = pattern.join('');
        const v = value.join('');
        expect(compileLike(p, '!')(v)).toBe(refLike(v, p, '!'));
      }),
      { numRuns: 3000 },
    );
  });

  it('stays fast on a hostile pattern and value', () => {
    const value = 'a'.repeat(60_000);
    const like = compileLike(`%${'a%'.repeat(200)}b`, undefined);
    const start = process.hrtime.bigint();
    expect(like(value)).toBe(false);
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeLessThan(500);
  });
});

/** Random selector ASTs, printed to text, compiled, and compared with a direct reference evaluation. */
type Ast =
  | { t: 'cmp'; op: string; name: string; lit: string | number }
  | { t: 'in'; name: string; items: Array<string | number>; not: boolean }
  | { t: 'like'; name: string; pattern: string; not: boolean }
  | { t: 'null'; name: string; not: boolean }
  | { t: 'bool'; v: boolean }
  | { t: 'not'; e: Ast }
  | { t: 'and' | 'or'; l: Ast; r: Ast };

const NAMES = ['a', 'b', 'c'];
const astArb: fc.Arbitrary<Ast> = fc.letrec<{ ast: Ast }>((tie) => ({
  ast: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      t: fc.constant('cmp' as const),
      op: fc.constantFrom('=', '<>', '<', '>', '<=', '>='),
      name: fc.constantFrom(...NAMES),
      lit: fc.oneof(fc.constantFrom('x', 'y', '1', ''), fc.integer({ min: -2, max: 3 })),
    }),
    fc.record({ t: fc.constant('in' as const), name: fc.constantFrom(...NAMES), items: fc.array(fc.oneof(fc.constantFrom('x', 'y'), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 3 }), not: fc.boolean() }),
    fc.record({ t: fc.constant('like' as const), name: fc.constantFrom(...NAMES), pattern: fc.constantFrom('x%', '%1', '_', '%', 'x'), not: fc.boolean() }),
    fc.record({ t: fc.constant('null' as const), name: fc.constantFrom(...NAMES), not: fc.boolean() }),
    fc.record({ t: fc.constant('bool' as const), v: fc.boolean() }),
    fc.record({ t: fc.constant('not' as const), e: tie('ast') }),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), l: tie('ast'), r: tie('ast') }),
  ),
})).ast;

function lit(v: string | number): string {
  return typeof v === 'number' ? String(v) : `'${v}'`;
}

function print(ast: Ast): string {
  switch (ast.t) {
    case 'cmp':
      return `${ast.name} ${ast.op} ${lit(ast.lit)}`;
    case 'in':
      return `${ast.name} ${ast.not ? 'NOT ' : ''}IN (${ast.items.map(lit).join(', ')})`;
    case 'like':
      return `${ast.name} ${ast.not ? 'NOT ' : ''}LIKE '${ast.pattern}'`;
    case 'null':
      return `${ast.name} IS ${ast.not ? 'NOT ' : ''}NULL`;
    case 'bool':
      return ast.v ? 'TRUE' : 'FALSE';
    case 'not':
      return `NOT (${print(ast.e)})`;
    default:
      return `(${print(ast.l)}) ${ast.t.toUpperCase()} (${print(ast.r)})`;
  }
}

function refNumber(v: string): number | undefined {
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) ? Number(v) : undefined;
}

function refCompare(op: string, a: string | number, b: string | number): boolean {
  return op === '=' ? a === b : op === '<>' ? a !== b : op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
}

/** true / false / null, straight from the SQL rules. */
function evaluate(ast: Ast, headers: Record<string, string>): boolean | null {
  const get = (name: string): string | undefined => (Object.prototype.hasOwnProperty.call(headers, name) ? headers[name] : undefined);
  switch (ast.t) {
    case 'cmp': {
      const v = get(ast.name);
      if (v === undefined) return null;
      if (typeof ast.lit === 'number') {
        const n = refNumber(v);
        return n === undefined ? null : refCompare(ast.op, n, ast.lit);
      }
      return refCompare(ast.op, v, ast.lit);
    }
    case 'in': {
      const v = get(ast.name);
      if (v === undefined) return null;
      const found = ast.items.some((item) => (typeof item === 'number' ? refNumber(v) === item : v === item));
      return ast.not ? !found : found;
    }
    case 'like': {
      const v = get(ast.name);
      if (v === undefined) return null;
      const m = refLike(v, ast.pattern);
      return ast.not ? !m : m;
    }
    case 'null':
      return (get(ast.name) === undefined) !== ast.not;
    case 'bool':
      return ast.v;
    case 'not': {
      const v = evaluate(ast.e, headers);
      return v === null ? null : !v;
    }
    case 'and': {
      const l = evaluate(ast.l, headers);
      const r = evaluate(ast.r, headers);
      return l === false || r === false ? false : l === null || r === null ? null : true;
    }
    case 'or': {
      const l = evaluate(ast.l, headers);
      const r = evaluate(ast.r, headers);
      return l === true || r === true ? true : l === null || r === null ? null : false;
    }
  }
}

describe('selectors against a reference evaluator', () => {
  it('select exactly the messages the SQL three-valued rules select', () => {
    const headersArb = fc.dictionary(fc.constantFrom(...NAMES), fc.constantFrom('x', 'y', '1', '2', '0', '-1', '', 'x1', '1.0'), { maxKeys: 3 });
    fc.assert(
      fc.property(astArb, fc.array(headersArb, { minLength: 1, maxLength: 5 }), (ast, messages) => {
        const filter = compile(print(ast));
        for (const headers of messages) expect(filter(message(headers))).toBe(evaluate(ast, headers) === true);
      }),
      { numRuns: 2000 },
    );
  });
});
