/**
 * The `selector` header of SUBSCRIBE: a small SQL-92-like condition over a message's headers (the
 * JMS / ActiveMQ selector subset), compiled once into a tree of closures that the broker runs as
 * a subscription filter. It never evaluates code: there is no eval, no Function, no property
 * access on objects, and no RegExp built from selector text (Spring's SpEL selectors were remote
 * code execution, CVE-2018-1270 / CVE-2018-1275).
 *
 * Grammar (keywords case-insensitive):
 *   selector  := or EOF
 *   or        := and (OR and)*
 *   and       := not (AND not)*
 *   not       := NOT not | primary
 *   primary   := '(' or ')' | TRUE | FALSE | operand tail     (TRUE = x compares, TRUE alone holds)
 *   tail      := ('=' | '<>' | '<' | '>' | '<=' | '>=') operand
 *              | [NOT] IN '(' item (',' item)* ')'           item := string | number
 *              | [NOT] LIKE string [ESCAPE string]
 *              | IS [NOT] NULL
 *   operand   := identifier | literal
 *   literal   := string | number | TRUE | FALSE
 * - identifier: a header name, `[A-Za-z_$][A-Za-z0-9_$.-]*` (so `content-type`, `x.trace-id`),
 *   or any name in double quotes with "" for a quote (`"odd name"`). A keyword is an identifier
 *   only when quoted (`"and"`). `destination` and `content-type` read the message's own fields;
 *   every other name reads the first header with that exact (case-sensitive) name.
 * - string: single quotes, '' for a quote (`'it''s'`). number: `-?digits[.digits][e±digits]`.
 *   TRUE / FALSE as operands are the strings 'true' / 'false'.
 *
 * Semantics
 * - Header values are strings. A comparison with a number literal on either side is numeric: the
 *   other side is read as a number only when it is one in full (`-?digits[.digits][e±digits]`, no
 *   spaces, no hex; not JS Number(), which reads '' as 0); a value that is not a number never
 *   matches. Otherwise both sides compare as strings, `<` / `>` by UTF-16 code unit order.
 * - IN compares like `=` with each item. LIKE: `%` any run of characters, `_` exactly one
 *   character (a code point), everything else literal; ESCAPE names a one-character escape that
 *   makes the next `%`, `_` or itself literal. LIKE never uses RegExp: the pattern is split on `%`
 *   and the pieces are placed leftmost-first, O(value × pattern) at worst.
 * - Three-valued logic, as SQL and JMS: a comparison, IN or LIKE on a missing header is UNKNOWN,
 *   NOT UNKNOWN is UNKNOWN, FALSE AND UNKNOWN is FALSE, TRUE OR UNKNOWN is TRUE, and a message is
 *   selected only when the whole condition is TRUE. So `NOT (type = 'x')` does not select a
 *   message without `type`; `type IS NULL OR type <> 'x'` does.
 * - A blank selector (empty or whitespace only) is no selector, as in JMS.
 *
 * Limits: `maxLength` characters (default 4096) and `maxDepth` nested parentheses / NOTs
 * (default 64) stop hostile input before it costs anything; AND / OR chains are flat lists, so
 * evaluation depth follows nesting only. Every failure is a StompError STOMP_ERR_BAD_SELECTOR whose
 * message names the 1-based character position and the problem ("invalid selector at position 8:
 * expected a value after '='"), with an excerpt and a caret in `details` (the ERROR frame body).
 */
import { StompError } from '../errors';
import type { BrokerMessage } from './types';

export type MessageFilter = (message: BrokerMessage) => boolean;

export interface SelectorOptions {
  /** Max selector length in characters. Default 4096. */
  maxLength?: number;
  /** Max nesting of parentheses and NOTs. Default 64. */
  maxDepth?: number;
}

export const DEFAULT_SELECTOR_LIMITS: Readonly<Required<SelectorOptions>> = { maxLength: 4096, maxDepth: 64 };

/**
 * Compiles a selector into a message filter; undefined for a blank selector (no filtering).
 * Throws StompError STOMP_ERR_BAD_SELECTOR, and nothing else, for any invalid input.
 */
export function compileSelector(source: string, options: SelectorOptions = {}): MessageFilter | undefined {
  const maxLength = options.maxLength ?? DEFAULT_SELECTOR_LIMITS.maxLength;
  const maxDepth = options.maxDepth ?? DEFAULT_SELECTOR_LIMITS.maxDepth;
  if (typeof source !== 'string') throw new StompError('STOMP_ERR_BAD_SELECTOR', 'invalid selector: not a string');
  if (source.length > maxLength) {
    throw new StompError('STOMP_ERR_BAD_SELECTOR', `invalid selector: too long (${source.length} characters, the limit is ${maxLength})`);
  }
  if (isBlank(source)) return undefined;
  const condition = new Parser(source, maxDepth).parse();
  return (message) => condition(message) === true;
}

// ---- tokens -----------------------------------------------------------------------------------

const KEYWORDS = ['AND', 'OR', 'NOT', 'IN', 'LIKE', 'ESCAPE', 'IS', 'NULL', 'TRUE', 'FALSE'] as const;
type Keyword = (typeof KEYWORDS)[number];
const COMPARISONS = ['=', '<>', '<', '>', '<=', '>='] as const;
type Comparison = (typeof COMPARISONS)[number];

type Token =
  | { kind: 'ident'; name: string; pos: number; text: string }
  | { kind: 'string'; value: string; pos: number; text: string }
  | { kind: 'number'; value: number; pos: number; text: string }
  | { kind: 'keyword'; keyword: Keyword; pos: number; text: string }
  | { kind: 'op'; op: Comparison; pos: number; text: string }
  | { kind: '(' | ')' | ','; pos: number; text: string }
  | { kind: 'eof'; pos: number; text: string };

function isBlank(source: string): boolean {
  for (let i = 0; i < source.length; i++) if (!isSpace(source.charCodeAt(i))) return false;
  return true;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */ || c === 36 /* $ */;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === 46 /* . */ || c === 45 /* - */;
}

/** Reads a full number (`-?digits[.digits][e±digits]`) at `i`; returns its end, or -1. */
function scanNumber(s: string, i: number): number {
  if (s.charCodeAt(i) === 45 /* - */) i++;
  const digitsStart = i;
  while (isDigit(s.charCodeAt(i))) i++;
  if (i === digitsStart) return -1;
  if (s.charCodeAt(i) === 46 /* . */) {
    const fraction = ++i;
    while (isDigit(s.charCodeAt(i))) i++;
    if (i === fraction) return -1;
  }
  const e = s.charCodeAt(i);
  if (e === 101 || e === 69 /* e E */) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === 43 || sign === 45) i++;
    const exponent = i;
    while (isDigit(s.charCodeAt(i))) i++;
    if (i === exponent) return -1;
  }
  return i;
}

/** A header value as a number when it is one in full; undefined otherwise. */
function toNumber(value: string): number | undefined {
  return value.length > 0 && scanNumber(value, 0) === value.length ? Number(value) : undefined;
}

/** Operators from other languages, with what to write instead. */
const HINTS = new Map<string, string>([
  ['!=', "'!=' is not an operator (use <> for not equal)"],
  ['==', "'==' is not an operator (use = for equality)"],
  ['&&', "'&&' is not an operator (use AND)"],
  ['||', "'||' is not an operator (use OR)"],
  ['!', "unexpected character '!' (use NOT)"],
]);

class Parser {
  private readonly tokens: Token[] = [];
  private index = 0;
  private depth = 0;

  constructor(
    private readonly source: string,
    private readonly maxDepth: number,
  ) {}

  parse(): Condition {
    this.tokenize();
    const condition = this.parseOr();
    const token = this.peek();
    if (token.kind === ')') throw this.error(token.pos, "unexpected ')' without a matching '('");
    if (token.kind !== 'eof') throw this.error(token.pos, `expected AND, OR or the end of the selector but found ${describe(token)}`);
    return condition;
  }

  // ---- tokenizer ----

  private tokenize(): void {
    const s = this.source;
    let i = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      const pos = i + 1;
      if (isSpace(c)) {
        i++;
      } else if (c === 39 /* ' */ || c === 34 /* " */) {
        const end = this.scanQuoted(i, c);
        const value = s.slice(i + 1, end - 1).replaceAll(c === 39 ? "''" : '""', c === 39 ? "'" : '"');
        const text = s.slice(i, end);
        if (c === 39) this.tokens.push({ kind: 'string', value, pos, text });
        else if (value.length === 0) throw this.error(pos, 'empty quoted identifier ""');
        else this.tokens.push({ kind: 'ident', name: value, pos, text });
        i = end;
      } else if (isDigit(c) || (c === 45 /* - */ && isDigit(s.charCodeAt(i + 1)))) {
        let end = scanNumber(s, i);
        const bad = end === -1 || isIdentPart(s.charCodeAt(end));
        if (bad) {
          end = i + 1;
          while (end < s.length && isIdentPart(s.charCodeAt(end))) end++;
          throw this.error(pos, `invalid number '${clip(s.slice(i, end))}'`);
        }
        const text = s.slice(i, end);
        this.tokens.push({ kind: 'number', value: Number(text), pos, text });
        i = end;
      } else if (isIdentStart(c)) {
        let end = i + 1;
        while (end < s.length && isIdentPart(s.charCodeAt(end))) end++;
        const text = s.slice(i, end);
        const upper = text.toUpperCase();
        if ((KEYWORDS as readonly string[]).includes(upper)) this.tokens.push({ kind: 'keyword', keyword: upper as Keyword, pos, text });
        else this.tokens.push({ kind: 'ident', name: text, pos, text });
        i = end;
      } else if (c === 40 || c === 41 || c === 44 /* ( ) , */) {
        this.tokens.push({ kind: s[i] as '(' | ')' | ',', pos, text: s[i] });
        i++;
      } else {
        const two = s.slice(i, i + 2);
        const hint = HINTS.get(two) ?? HINTS.get(s[i]);
        if (hint !== undefined) throw this.error(pos, hint);
        if (two === '<>' || two === '<=' || two === '>=') {
          this.tokens.push({ kind: 'op', op: two, pos, text: two });
          i += 2;
        } else if (c === 61 || c === 60 || c === 62 /* = < > */) {
          this.tokens.push({ kind: 'op', op: s[i] as Comparison, pos, text: s[i] });
          i++;
        } else {
          const cp = s.codePointAt(i) as number;
          const shown = cp >= 0x20 && cp !== 0x7f ? String.fromCodePoint(cp) : `\\u${cp.toString(16).padStart(4, '0')}`;
          throw this.error(pos, `unexpected character '${shown}'`);
        }
      }
    }
    this.tokens.push({ kind: 'eof', pos: s.length + 1, text: '' });
  }

  /** The index just past the closing quote of the quoted text opened at `start`. */
  private scanQuoted(start: number, quote: number): number {
    const s = this.source;
    let i = start + 1;
    for (;;) {
      const end = s.indexOf(String.fromCharCode(quote), i);
      if (end === -1) {
        throw this.error(start + 1, quote === 39 ? 'unterminated string (a quote inside a string is written \'\')' : 'unterminated quoted identifier');
      }
      if (s.charCodeAt(end + 1) !== quote) return end + 1;
      i = end + 2;
    }
  }

  // ---- parser ----

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    return this.tokens[this.index++];
  }

  private isKeyword(token: Token, keyword: Keyword): boolean {
    return token.kind === 'keyword' && token.keyword === keyword;
  }

  private parseOr(): Condition {
    const first = this.parseAnd();
    if (!this.isKeyword(this.peek(), 'OR')) return first;
    const terms = [first];
    while (this.isKeyword(this.peek(), 'OR')) {
      this.next();
      terms.push(this.parseAnd());
    }
    return anyOf(terms);
  }

  private parseAnd(): Condition {
    const first = this.parseNot();
    if (!this.isKeyword(this.peek(), 'AND')) return first;
    const terms = [first];
    while (this.isKeyword(this.peek(), 'AND')) {
      this.next();
      terms.push(this.parseNot());
    }
    return allOf(terms);
  }

  private parseNot(): Condition {
    const token = this.peek();
    if (!this.isKeyword(token, 'NOT')) return this.parsePrimary();
    this.next();
    this.enter(token);
    const inner = this.parseNot();
    this.depth--;
    return not(inner);
  }

  private enter(token: Token): void {
    if (++this.depth > this.maxDepth) throw this.error(token.pos, `nested too deeply (the limit is ${this.maxDepth} levels of parentheses and NOT)`);
  }

  private parsePrimary(): Condition {
    const token = this.peek();
    if (token.kind === '(') {
      this.next();
      this.enter(token);
      const inner = this.parseOr();
      const close = this.peek();
      if (close.kind !== ')') {
        throw this.error(close.pos, `expected ')' to close the '(' at position ${token.pos} but found ${describe(close)}`);
      }
      this.next();
      this.depth--;
      return inner;
    }
    if ((this.isKeyword(token, 'TRUE') || this.isKeyword(token, 'FALSE')) && this.tokens[this.index + 1].kind !== 'op') {
      this.next();
      return token.kind === 'keyword' && token.keyword === 'TRUE' ? alwaysTrue : alwaysFalse;
    }
    const operand = this.operand(this.previousContext('a condition'));
    return this.parseTail(operand);
  }

  /** "a condition" or "a condition after AND" etc., from the token before the cursor. */
  private previousContext(what: string): string {
    const previous = this.index > 0 ? this.tokens[this.index - 1] : undefined;
    return previous === undefined ? what : `${what} after ${describe(previous)}`;
  }

  private operand(expected: string): Operand {
    const token = this.peek();
    switch (token.kind) {
      case 'ident':
        this.next();
        return { kind: 'header', name: token.name, text: token.text };
      case 'string':
        this.next();
        return { kind: 'string', value: token.value, text: token.text };
      case 'number':
        this.next();
        return { kind: 'number', value: token.value, text: token.text };
      case 'keyword':
        if (token.keyword === 'TRUE' || token.keyword === 'FALSE') {
          this.next();
          return { kind: 'string', value: token.keyword === 'TRUE' ? 'true' : 'false', text: token.text };
        }
        break;
      default:
        break;
    }
    throw this.error(token.pos, `expected ${expected}${token.kind === 'eof' ? '' : ` but found ${describe(token)}`}`);
  }

  private parseTail(left: Operand): Condition {
    const token = this.next();
    if (token.kind === 'op') {
      const right = this.operand(`a value after '${token.op}'`);
      return compare(token.op, left, right);
    }
    if (token.kind === 'keyword') {
      switch (token.keyword) {
        case 'IN':
          return this.parseIn(left, token);
        case 'LIKE':
          return this.parseLike(left, token);
        case 'IS': {
          const negate = this.isKeyword(this.peek(), 'NOT');
          if (negate) this.next();
          const nullToken = this.next();
          if (!this.isKeyword(nullToken, 'NULL')) {
            throw this.error(nullToken.pos, `expected NULL or NOT NULL after IS${nullToken.kind === 'eof' ? '' : ` but found ${describe(nullToken)}`}`);
          }
          const isNull = left.kind === 'header' ? headerIsNull(left.name) : alwaysFalse;
          return negate ? not(isNull) : isNull;
        }
        case 'NOT': {
          const after = this.next();
          if (this.isKeyword(after, 'IN')) return not(this.parseIn(left, after));
          if (this.isKeyword(after, 'LIKE')) return not(this.parseLike(left, after));
          throw this.error(after.pos, `expected IN or LIKE after NOT${after.kind === 'eof' ? '' : ` but found ${describe(after)}`}`);
        }
        default:
          break;
      }
    }
    throw this.error(
      token.pos,
      `expected an operator (=, <>, <, >, <=, >=, IN, LIKE or IS) after ${clipQuoted(left.text)}${token.kind === 'eof' ? '' : ` but found ${describe(token)}`}`,
    );
  }

  private parseIn(left: Operand, inToken: Token): Condition {
    const open = this.next();
    if (open.kind !== '(') throw this.error(open.pos, `expected '(' after ${inToken.text.toUpperCase()}${open.kind === 'eof' ? '' : ` but found ${describe(open)}`}`);
    const strings = new Set<string>();
    const numbers: number[] = [];
    for (;;) {
      const item = this.next();
      if (item.kind === 'string') strings.add(item.value);
      else if (item.kind === 'number') numbers.push(item.value);
      else throw this.error(item.pos, `expected a string or a number in the IN list${item.kind === 'eof' ? '' : ` but found ${describe(item)}`}`);
      const separator = this.next();
      if (separator.kind === ')') break;
      if (separator.kind !== ',') {
        throw this.error(separator.pos, `expected ',' or ')' in the IN list${separator.kind === 'eof' ? '' : ` but found ${describe(separator)}`}`);
      }
    }
    const value = stringGetter(left);
    return (message) => {
      const v = value(message);
      if (v === undefined) return null;
      if (strings.has(v)) return true;
      if (numbers.length > 0) {
        const n = toNumber(v);
        if (n !== undefined && numbers.includes(n)) return true;
      }
      return false;
    };
  }

  private parseLike(left: Operand, likeToken: Token): Condition {
    const patternToken = this.next();
    if (patternToken.kind !== 'string') {
      throw this.error(
        patternToken.pos,
        `expected a string pattern after ${likeToken.text.toUpperCase()}${patternToken.kind === 'eof' ? '' : ` but found ${describe(patternToken)}`}`,
      );
    }
    let escape: string | undefined;
    if (this.isKeyword(this.peek(), 'ESCAPE')) {
      this.next();
      const escapeToken = this.next();
      if (escapeToken.kind !== 'string' || escapeToken.value.length !== 1) {
        throw this.error(
          escapeToken.pos,
          `expected a one-character string after ESCAPE${escapeToken.kind === 'eof' ? '' : ` but found ${describe(escapeToken)}`}`,
        );
      }
      escape = escapeToken.value;
    }
    const pattern = compileLike(patternToken.value, escape, (message) => this.error(patternToken.pos, message));
    const value = stringGetter(left);
    return (message) => {
      const v = value(message);
      return v === undefined ? null : pattern(v);
    };
  }

  private error(position: number, problem: string): StompError {
    return new StompError('STOMP_ERR_BAD_SELECTOR', `invalid selector at position ${position}: ${problem}`, {
      details: `invalid selector at position ${position}: ${problem}\n${excerpt(this.source, position)}`,
    });
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'the end of the selector';
    case 'string':
      return `the string ${clip(token.text)}`;
    case 'keyword':
      return token.keyword;
    default:
      return clipQuoted(token.text);
  }
}

function clip(text: string, max = 32): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

function clipQuoted(text: string): string {
  return `'${clip(text)}'`;
}

/** Up to 60 characters around `position` and a caret under it (control characters shown as spaces). */
function excerpt(source: string, position: number): string {
  const at = position - 1;
  const start = Math.max(0, at - 40);
  const end = Math.min(source.length, at + 20);
  const prefix = start > 0 ? '…' : '';
  const suffix = end < source.length ? '…' : '';
  const line = prefix + source.slice(start, end).replace(/[\u0000-\u001f\u007f]/g, ' ') + suffix;
  return `${line}\n${' '.repeat(prefix.length + at - start)}^`;
}

// ---- evaluation -------------------------------------------------------------------------------

/** true / false / null (UNKNOWN). */
type Condition = (message: BrokerMessage) => boolean | null;

type Operand =
  | { kind: 'header'; name: string; text: string }
  | { kind: 'string'; value: string; text: string }
  | { kind: 'number'; value: number; text: string };

const alwaysTrue: Condition = () => true;
const alwaysFalse: Condition = () => false;

/** A header's value: `destination` and `content-type` from the message, others first-wins. */
function headerValue(message: BrokerMessage, name: string): string | undefined {
  if (name === 'destination') return message.destination;
  if (name === 'content-type') return message.contentType;
  const headers = message.headers;
  for (let i = 0; i < headers.length; i++) if (headers[i][0] === name) return headers[i][1];
  return undefined;
}

function stringGetter(operand: Operand): (message: BrokerMessage) => string | undefined {
  if (operand.kind === 'header') {
    const name = operand.name;
    return (message) => headerValue(message, name);
  }
  const value = operand.kind === 'string' ? operand.value : operand.text;
  return () => value;
}

function numberGetter(operand: Operand): (message: BrokerMessage) => number | undefined {
  if (operand.kind === 'header') {
    const name = operand.name;
    return (message) => {
      const v = headerValue(message, name);
      return v === undefined ? undefined : toNumber(v);
    };
  }
  const value = operand.kind === 'number' ? operand.value : toNumber(operand.value);
  return () => value;
}

function test<T extends string | number>(op: Comparison, a: T, b: T): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '<>':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
  }
}

function compare(op: Comparison, left: Operand, right: Operand): Condition {
  if (left.kind === 'number' || right.kind === 'number') {
    const a = numberGetter(left);
    const b = numberGetter(right);
    return (message) => {
      const x = a(message);
      if (x === undefined) return null;
      const y = b(message);
      return y === undefined ? null : test(op, x, y);
    };
  }
  const a = stringGetter(left);
  const b = stringGetter(right);
  return (message) => {
    const x = a(message);
    if (x === undefined) return null;
    const y = b(message);
    return y === undefined ? null : test(op, x, y);
  };
}

function headerIsNull(name: string): Condition {
  return (message) => headerValue(message, name) === undefined;
}

function not(inner: Condition): Condition {
  if (inner === alwaysTrue) return alwaysFalse;
  if (inner === alwaysFalse) return alwaysTrue;
  return (message) => {
    const v = inner(message);
    return v === null ? null : !v;
  };
}

function allOf(terms: Condition[]): Condition {
  return (message) => {
    let unknown = false;
    for (let i = 0; i < terms.length; i++) {
      const v = terms[i](message);
      if (v === false) return false;
      if (v === null) unknown = true;
    }
    return unknown ? null : true;
  };
}

function anyOf(terms: Condition[]): Condition {
  return (message) => {
    let unknown = false;
    for (let i = 0; i < terms.length; i++) {
      const v = terms[i](message);
      if (v === true) return true;
      if (v === null) unknown = true;
    }
    return unknown ? null : false;
  };
}

// ---- LIKE -------------------------------------------------------------------------------------

/** Matches exactly one code point. */
const ONE = 0;
/** A piece between two `%`: literal runs and single-character wildcards. */
type Piece = Array<string | typeof ONE>;

/**
 * Compiles a LIKE pattern into a matcher without RegExp: the pattern is split on unescaped `%`;
 * the first piece must match at the start, the last at the end, and each piece in between is
 * placed at its leftmost match after the previous one (optimal, because every piece has a fixed
 * length in code points).
 */
export function compileLike(pattern: string, escape: string | undefined, fail: (problem: string) => Error = (p) => new Error(p)): (value: string) => boolean {
  const pieces: Piece[] = [[]];
  let run = '';
  const flush = (): void => {
    if (run.length > 0) pieces[pieces.length - 1].push(run);
    run = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (escape !== undefined && ch === escape) {
      const escaped = pattern[i + 1];
      if (escaped !== '%' && escaped !== '_' && escaped !== escape) {
        throw fail(`in the LIKE pattern, the escape character '${escape}' must be followed by %, _ or itself`);
      }
      run += escaped;
      i++;
    } else if (ch === '%') {
      flush();
      pieces.push([]);
    } else if (ch === '_') {
      flush();
      pieces[pieces.length - 1].push(ONE);
    } else {
      run += ch;
    }
  }
  flush();
  if (pieces.length === 1) {
    const only = pieces[0];
    return (value) => matchAt(value, 0, only) === value.length;
  }
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  const lastLength = codePointLength(last);
  const middle = pieces.slice(1, -1).filter((p) => p.length > 0);
  return (value) => {
    let pos = matchAt(value, 0, first);
    if (pos < 0) return false;
    const lastStart = backCodePoints(value, value.length, lastLength);
    if (lastStart < pos || matchAt(value, lastStart, last) !== value.length) return false;
    for (let i = 0; i < middle.length; i++) {
      pos = findPiece(value, pos, middle[i], lastStart);
      if (pos < 0) return false;
    }
    return true;
  };
}

/** Where `piece` ends when matched at `start`, or -1. */
function matchAt(value: string, start: number, piece: Piece): number {
  let pos = start;
  for (let i = 0; i < piece.length; i++) {
    const item = piece[i];
    if (item === ONE) {
      if (pos >= value.length) return -1;
      pos += codePointWidth(value, pos);
    } else {
      if (!value.startsWith(item, pos)) return -1;
      pos += item.length;
    }
  }
  return pos;
}

/** The end of the leftmost match of `piece` starting at or after `from` and ending by `limit`, or -1. */
function findPiece(value: string, from: number, piece: Piece, limit: number): number {
  const head = piece[0];
  let start = from;
  while (start <= limit) {
    if (head !== ONE) {
      start = value.indexOf(head, start);
      if (start < 0 || start > limit) return -1;
    }
    const end = matchAt(value, start, piece);
    if (end >= 0) return end <= limit ? end : -1;
    if (start >= value.length) return -1;
    start += codePointWidth(value, start);
  }
  return -1;
}

function codePointWidth(value: string, pos: number): number {
  const c = value.charCodeAt(pos);
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = value.charCodeAt(pos + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

function codePointLength(piece: Piece): number {
  let n = 0;
  for (const item of piece) {
    if (item === ONE) n++;
    else for (let i = 0; i < item.length; i += codePointWidth(item, i)) n++;
  }
  return n;
}

/** The index `count` code points before `end`, or -1 when the string is shorter. */
function backCodePoints(value: string, end: number, count: number): number {
  let pos = end;
  for (let n = 0; n < count; n++) {
    if (pos <= 0) return -1;
    pos--;
    const c = value.charCodeAt(pos);
    if (c >= 0xdc00 && c <= 0xdfff && pos > 0) {
      const h = value.charCodeAt(pos - 1);
      if (h >= 0xd800 && h <= 0xdbff) pos--;
    }
  }
  return pos;
}
