/**
 * The handler table for application destinations: message mappings (SEND) and subscribe mappings
 * (SUBSCRIBE) are kept apart, each as an exact-match Map for literal patterns plus a list of
 * wildcard/variable patterns sorted most specific first (PathPattern.compare; registration order
 * breaks ties). Look-up: the exact Map, then the first matching pattern. Registering two patterns
 * that match the same paths (same pattern up to variable names) is an error at registration, not
 * an ambiguity discovered at run time.
 *
 * Both declaration styles end here: `broker.handle()` / `broker.subscribeMapping()` and decorated
 * controllers (decorators.ts) are normalized into the same {@link HandlerEntry}.
 */
import type { PayloadValidator } from './payload';
import { PathPattern, placeholders } from './path-pattern';
import type { ExceptionHandler, HandleOptions, MessageHandler, SendToUserOption } from './types';

export type MappingKind = 'message' | 'subscribe';

export interface UserReplyRoute {
  /** undefined = the default '/queue' + lookup path. */
  readonly destinations: readonly string[] | undefined;
  readonly broadcast: boolean;
}

/** Where a return value goes; both unset = the default for the mapping kind. */
export interface ReplyRoute {
  readonly sendTo?: readonly string[];
  readonly sendToUser?: UserReplyRoute;
}

export interface ExceptionEntry extends ReplyRoute {
  /** Error classes this handler takes (instanceof); empty = every error. */
  readonly types: readonly Function[];
  readonly invoke: ExceptionHandler;
}

export interface HandlerEntry extends ReplyRoute {
  readonly kind: MappingKind;
  readonly pattern: PathPattern;
  readonly invoke: MessageHandler;
  readonly validate?: PayloadValidator;
  readonly exceptionHandlers: readonly ExceptionEntry[];
  /** Where it was declared ('ChatController.send', or the pattern for functional handlers), for logs. */
  readonly label: string;
}

export interface HandlerMatch {
  readonly entry: HandlerEntry;
  readonly params: Readonly<Record<string, string>>;
}

class Table {
  readonly exact = new Map<string, HandlerEntry>();
  readonly patterns: HandlerEntry[] = [];
  readonly keys = new Map<string, HandlerEntry>();
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});

export class HandlerRegistry {
  private readonly message = new Table();
  private readonly subscribe = new Table();

  get size(): number {
    return this.message.keys.size + this.subscribe.keys.size;
  }

  add(entry: HandlerEntry): void {
    const table = entry.kind === 'message' ? this.message : this.subscribe;
    const pattern = entry.pattern;
    const existing = table.keys.get(pattern.key);
    if (existing !== undefined) {
      const what = entry.kind === 'message' ? 'message mapping' : 'subscribe mapping';
      throw new Error(`${what} '${pattern.source}' (${entry.label}) clashes with '${existing.pattern.source}' (${existing.label})`);
    }
    checkPlaceholders(entry, entry, pattern);
    for (const handler of entry.exceptionHandlers) checkPlaceholders(handler, entry, pattern);
    table.keys.set(pattern.key, entry);
    if (pattern.literal) {
      table.exact.set(pattern.source, entry);
      return;
    }
    // Insert after every pattern at least as specific: sorted, and stable for equal ranks.
    let i = table.patterns.length;
    while (i > 0 && pattern.compare(table.patterns[i - 1].pattern) < 0) i--;
    table.patterns.splice(i, 0, entry);
  }

  /** The patterns of one kind, as registered (for explanations of unmapped destinations). */
  patterns(kind: MappingKind): string[] {
    const table = kind === 'message' ? this.message : this.subscribe;
    return [...table.keys.values()].map((entry) => entry.pattern.source);
  }

  find(kind: MappingKind, path: string): HandlerMatch | undefined {
    const table = kind === 'message' ? this.message : this.subscribe;
    const exact = table.exact.get(path);
    if (exact !== undefined) return { entry: exact, params: NO_PARAMS };
    const patterns = table.patterns;
    for (let i = 0; i < patterns.length; i++) {
      const params = patterns[i].pattern.match(path);
      if (params !== undefined) return { entry: patterns[i], params };
    }
    return undefined;
  }
}

/** Builds an entry from the functional API's arguments. */
export function functionalEntry(kind: MappingKind, pattern: string, handler: MessageHandler, options: HandleOptions = {}): HandlerEntry {
  if (typeof handler !== 'function') throw new TypeError(`the handler for '${pattern}' must be a function`);
  const onError = options.onError;
  return {
    kind,
    pattern: new PathPattern(pattern),
    invoke: handler,
    validate: options.validate,
    exceptionHandlers: onError === undefined ? [] : [{ types: [], invoke: onError }],
    label: `${kind === 'message' ? 'handle' : 'subscribeMapping'}('${pattern}')`,
    ...replyRoute(options.sendTo, options.sendToUser),
  };
}

/** Normalizes sendTo / sendToUser options into a {@link ReplyRoute}. */
export function replyRoute(sendTo: string | readonly string[] | undefined, sendToUser: SendToUserOption | undefined): ReplyRoute {
  const route: { sendTo?: readonly string[]; sendToUser?: UserReplyRoute } = {};
  if (sendTo !== undefined) route.sendTo = destinations(typeof sendTo === 'string' ? [sendTo] : sendTo, 'sendTo');
  if (sendToUser !== undefined && sendToUser !== (false as unknown)) {
    if (sendToUser === true) {
      route.sendToUser = { destinations: undefined, broadcast: true };
    } else if (typeof sendToUser === 'string') {
      route.sendToUser = { destinations: destinations([sendToUser], 'sendToUser'), broadcast: true };
    } else {
      const dest = sendToUser.destination;
      route.sendToUser = {
        destinations: dest === undefined ? undefined : destinations([dest], 'sendToUser'),
        broadcast: sendToUser.broadcast ?? true,
      };
    }
  }
  return route;
}

function destinations(list: readonly string[], option: string): string[] {
  for (const d of list) {
    if (typeof d !== 'string' || !d.startsWith('/')) throw new TypeError(`${option} destinations must start with '/', got ${JSON.stringify(d)}`);
  }
  return [...list];
}

function checkPlaceholders(route: ReplyRoute, entry: HandlerEntry, pattern: PathPattern): void {
  const templates = [...(route.sendTo ?? []), ...(route.sendToUser?.destinations ?? [])];
  for (const template of templates) {
    for (const name of placeholders(template)) {
      if (!pattern.variables.includes(name)) {
        throw new Error(`'${template}' (${entry.label}) uses {${name}}, which is not a path variable of '${pattern.source}'`);
      }
    }
  }
}
