/**
 * Destination patterns of application handlers, matched against the lookup path (the destination
 * with its application prefix stripped: `/app/chat/general` → `/chat/general`).
 *
 * Syntax (Spring's AntPathMatcher subset, '/' separator):
 * - `{name}` captures one non-empty segment as a path variable (`/chat/{room}`);
 * - `*` matches zero or more characters within one segment;
 * - `**` matches any number of characters across segments (`/files/**`);
 * - everything else is literal.
 *
 * A pattern compiles once to an anchored RegExp. Choosing among several matching patterns follows
 * Spring's AntPatternComparator: fewer `**`, then fewer variables and `*`, then more literal
 * characters wins; a pattern without variables or wildcards is looked up exactly before any of that
 * (see handler-registry.ts).
 */

const TOKEN = /\{([A-Za-z_$][\w$]*)\}|\*\*|\*/g;
const PLACEHOLDER = /\{([A-Za-z_$][\w$]*)\}/g;

export class PathPattern {
  readonly source: string;
  /** Path variable names, in order. */
  readonly variables: readonly string[];
  /** True when the pattern has no variables or wildcards (an exact look-up suffices). */
  readonly literal: boolean;
  /** The pattern with variable names erased: two patterns with equal keys match the same paths. */
  readonly key: string;
  /** [`**` count, variables + `*` count, -literal length]: lower sorts first (more specific). */
  readonly rank: readonly [number, number, number];
  private readonly regexp: RegExp | undefined;

  constructor(source: string) {
    if (typeof source !== 'string' || !source.startsWith('/')) {
      throw new TypeError(`destination patterns must start with '/', got ${JSON.stringify(source)}`);
    }
    checkWellFormed(source);
    const variables: string[] = [];
    let regexp = '^';
    let key = '';
    let doubleWildcards = 0;
    let wildcards = 0;
    let literalLength = 0;
    let last = 0;
    for (const match of source.matchAll(TOKEN)) {
      const text = source.slice(last, match.index);
      regexp += escapeRegExp(text);
      key += text;
      literalLength += text.length;
      if (match[1] !== undefined) {
        if (variables.includes(match[1])) throw new TypeError(`path variable {${match[1]}} appears twice in '${source}'`);
        variables.push(match[1]);
        regexp += '([^/]+)';
        key += '{}';
      } else if (match[0] === '**') {
        doubleWildcards++;
        regexp += '.*';
        key += '**';
      } else {
        wildcards++;
        regexp += '[^/]*';
        key += '*';
      }
      last = match.index + match[0].length;
    }
    const rest = source.slice(last);
    regexp += escapeRegExp(rest) + '$';
    key += rest;
    literalLength += rest.length;
    this.source = source;
    this.variables = variables;
    this.key = key;
    this.literal = variables.length === 0 && wildcards === 0 && doubleWildcards === 0;
    this.rank = [doubleWildcards, variables.length + wildcards, -literalLength];
    this.regexp = this.literal ? undefined : new RegExp(regexp);
  }

  /** The path variables when `path` matches, otherwise undefined. */
  match(path: string): Record<string, string> | undefined {
    if (this.regexp === undefined) return path === this.source ? {} : undefined;
    const m = this.regexp.exec(path);
    if (m === null) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < this.variables.length; i++) params[this.variables[i]] = m[i + 1];
    return params;
  }

  /** Negative when `this` is more specific than `other`. */
  compare(other: PathPattern): number {
    for (let i = 0; i < 3; i++) {
      const d = this.rank[i] - other.rank[i];
      if (d !== 0) return d;
    }
    return 0;
  }
}

/** The `{name}` placeholders of a destination template such as '/topic/rooms/{room}'. */
export function placeholders(template: string): string[] {
  return Array.from(template.matchAll(PLACEHOLDER), (m) => m[1]);
}

/** Replaces `{name}` placeholders with path variable values. */
export function expandPlaceholders(template: string, params: Readonly<Record<string, string>>): string {
  if (template.indexOf('{') === -1) return template;
  return template.replace(PLACEHOLDER, (whole, name: string) => params[name] ?? whole);
}

/** Joins a class-level and a method-level pattern: ('/chat', '/{room}') → '/chat/{room}'. */
export function joinPatterns(prefix: string, pattern: string): string {
  if (prefix === '' || prefix === '/') return pattern;
  const head = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (pattern === '' || pattern === '/') return head;
  return head + (pattern.startsWith('/') ? pattern : '/' + pattern);
}

/**
 * Refuses what would otherwise become a pattern that silently never matches: braces that are not
 * a `{name}` variable, an empty segment, three or more `*` in a row.
 */
function checkWellFormed(source: string): void {
  const stray = source.replace(PLACEHOLDER, '');
  if (stray.includes('{') || stray.includes('}')) {
    const bad = /\{[^}]*\}?|\}/.exec(stray)?.[0] ?? '{';
    throw new TypeError(
      `malformed destination pattern '${source}': '${bad}' is not a path variable; write a variable as {name} (a letter, _ or $ then letters, digits, _ or $), e.g. '/chat/{room}'`,
    );
  }
  if (source.includes('//')) {
    throw new TypeError(`malformed destination pattern '${source}': it has an empty segment; write '${source.replace(/\/{2,}/g, '/')}'`);
  }
  if (source.includes('***')) {
    throw new TypeError(`malformed destination pattern '${source}': use '*' (within one segment) or '**' (across segments), not '***'`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
