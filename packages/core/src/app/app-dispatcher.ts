/**
 * Runs application handlers: a SEND or SUBSCRIBE whose destination starts with an application
 * prefix (default '/app') comes here and never reaches the broker.
 *
 * One dispatch:
 * 1. Strip the prefix to get the lookup path ('/app/chat/general' → '/chat/general'); find the
 *    best mapping (handler-registry.ts). No mapping: refused like any unknown destination —
 *    non-fatal by default, the explanation listing the mappings that exist; ERROR + close with
 *    `strictDestinations`.
 * 2. Decode the payload (message-converter.ts), validate it (payload.ts), call the handler with the
 *    message and a context (path variables, principal, session id and attributes, template).
 * 3. Route the return value (undefined/null = nothing): `sendTo` destinations (`{var}` expanded),
 *    `sendToUser` (all the user's sessions, or only the sending one), both, or the default:
 *    '/topic' + lookup path for SEND, the subscription itself for SUBSCRIBE (a one-shot reply that
 *    is not registered in the broker).
 * 4. Any error from steps 2–3 goes to the most specific exception handler of the mapping (class
 *    `@MessageExceptionHandler` or `onError`); its return value goes to its own sendTo/sendToUser,
 *    else to the sending session's error destination. An error nobody handles is logged and
 *    becomes a non-fatal StompError: the session reports it on '/user/queue/errors' (configurable)
 *    and stays open. A handler error never closes the session.
 *
 * Everything stays synchronous while the handler, validator and broker are; the session awaits a
 * returned promise before reading its next frame, so a client's messages are handled in order and
 * a RECEIPT means the handler finished.
 */
import type { BrokerMessage, Delivery, SubscriptionSpec } from '../broker/types';
import { EMPTY_BODY } from '../codec/frame';
import { StompError, isStompError } from '../errors';
import type { Logger } from '../logger';
import type { MessagingTemplate, Payload } from '../template';
import type { SessionContext } from '../channel/inbound-channel';
import { encodeUserName } from '../user/user-destinations';
import { HandlerRegistry, type ExceptionEntry, type HandlerEntry, type MappingKind, type ReplyRoute } from './handler-registry';
import { expandPlaceholders } from './path-pattern';
import { PayloadValidationError, isThenable, validatePayload } from './payload';
import type { CompositeMessageConverter } from '../message-converter';
import type { HandlerContext, HandlerMessage } from './types';

/** What the dispatcher needs from the router. */
export interface AppHost {
  readonly template: MessagingTemplate;
  readonly logger: Logger;
  readonly userPrefix: string;
  /** The user-relative destination for error replies ('/queue/errors'), or null. */
  readonly errorDestination: string | null;
  /** Publishes like the template: broker destinations and '/user/<name>/...'. */
  publish(message: BrokerMessage): void | Promise<void>;
  /** Publishes to one session's own user destination ('/queue/x' → '/queue/x-user<id>') if it subscribed. */
  publishToSession(sessionId: string, destination: string, message: BrokerMessage): void | Promise<void>;
  /** Delivers straight to one subscription of a session (subscribe-mapping replies). */
  deliverToSession(session: SessionContext, delivery: Delivery): void;
  /** Body ⇄ payload conversion (the broker's `messageConverters`). */
  readonly converter: CompositeMessageConverter;
  /** An unmapped application destination closes the session (ERROR) instead of being reported to it. */
  readonly strictDestinations: boolean;
  /** Whether a destination is served by the message broker (reply destinations are checked at registration). */
  isBrokerDestination(destination: string): boolean;
}

/** Errors already logged with their stack by the dispatcher (the session's refusal log skips them). */
const logged = new WeakSet<object>();

export function wasLogged(err: unknown): boolean {
  return typeof err === 'object' && err !== null && logged.has(err);
}

/** Mappings listed in an "unmapped destination" explanation, at most. */
const MAX_LISTED = 20;

/** Spring's SendToMethodReturnValueHandler defaults. */
const DEFAULT_TOPIC_PREFIX = '/topic';
const DEFAULT_USER_PREFIX = '/queue';

interface Dispatch {
  readonly session: SessionContext;
  readonly entry: HandlerEntry;
  readonly path: string;
  readonly message: { payload: unknown; readonly body: Buffer; readonly headers: Record<string, string>; readonly contentType?: string };
  readonly ctx: HandlerContext;
}

export class AppDispatcher {
  readonly registry = new HandlerRegistry();
  /** Prefixes with a trailing '/', so '/app' matches '/app/x' but not '/apple'. */
  private readonly prefixes: string[];

  constructor(
    prefixes: readonly string[],
    private readonly host: AppHost,
  ) {
    this.prefixes = prefixes.map((p) => p + '/');
  }

  /** The lookup path when `destination` is an application destination, else undefined (one startsWith per prefix). */
  lookupPath(destination: string): string | undefined {
    const prefixes = this.prefixes;
    for (let i = 0; i < prefixes.length; i++) {
      if (destination.startsWith(prefixes[i])) return destination.slice(prefixes[i].length - 1);
    }
    return undefined;
  }

  /** A SEND to an application destination. */
  send(session: SessionContext, message: BrokerMessage, path: string, headers: Record<string, string>): void | Promise<void> {
    const match = this.registry.find('message', path);
    if (match === undefined) throw this.unmapped('message', message.destination, path);
    // The STOMP headers the neutral message keeps apart, back in the record (HandlerMessage.headers).
    headers.destination = message.destination;
    if (message.contentType !== undefined) headers['content-type'] = message.contentType;
    headers['content-length'] = String(message.body.length);
    return this.dispatch(session, match.entry, path, match.params, message.destination, message.body, message.contentType, headers, undefined);
  }

  /** A SUBSCRIBE to an application destination: answered once, never registered in the broker. */
  subscribe(session: SessionContext, spec: SubscriptionSpec, path: string, headers: Record<string, string>): void | Promise<void> {
    const match = this.registry.find('subscribe', path);
    if (match === undefined) throw this.unmapped('subscribe', spec.destination, path);
    return this.dispatch(session, match.entry, path, match.params, spec.destination, EMPTY_BODY, undefined, headers, spec.id);
  }

  /** The refusal of a destination no mapping takes, naming the mappings that exist (as clients address them). */
  private unmapped(kind: MappingKind, destination: string, path: string): StompError {
    const first = this.prefixes[0]?.slice(0, -1) ?? '';
    const mapped = this.registry.patterns(kind).map((p) => first + p);
    const what = kind === 'message' ? 'message mapping' : 'subscribe mapping';
    let known: string;
    if (mapped.length === 0) known = `there are no ${what}s`;
    else {
      const listed = mapped.slice(0, MAX_LISTED).join(', ');
      known = `${what}s: ${listed}${mapped.length > MAX_LISTED ? `, … (${mapped.length - MAX_LISTED} more)` : ''}`;
    }
    const text =
      kind === 'message'
        ? `cannot send to '${destination}': no handler is mapped to '${path}'; ${known}`
        : `cannot subscribe to '${destination}': no subscribe mapping for '${path}'; ${known}`;
    return new StompError('STOMP_ERR_NO_HANDLER', text, { fatal: this.host.strictDestinations });
  }

  /**
   * Adds a mapping after checking what is easy to get wrong, so the mistake shows at start-up
   * rather than as a silent destination: a pattern that repeats the application prefix, and reply
   * destinations outside the broker (sendTo) or user (sendToUser) destinations.
   */
  register(entry: HandlerEntry): void {
    this.check(entry);
    this.registry.add(entry);
  }

  /** Checks every entry before adding any (a controller is registered whole or not at all, clashes aside). */
  registerAll(entries: readonly HandlerEntry[]): void {
    for (const entry of entries) this.check(entry);
    for (const entry of entries) this.registry.add(entry);
  }

  private check(entry: HandlerEntry): void {
    const source = entry.pattern.source;
    for (const prefix of this.prefixes) {
      const bare = prefix.slice(0, -1);
      if (source === bare || source.startsWith(prefix)) {
        const rest = source.slice(bare.length) || '/';
        throw new TypeError(
          `${entry.label}: patterns are relative to the application prefix '${bare}'; write '${rest}' (clients then use '${bare}${rest}')`,
        );
      }
    }
    this.checkReplies(entry, entry.label);
    for (const handler of entry.exceptionHandlers) this.checkReplies(handler, `${entry.label} (exception handler)`);
  }

  private checkReplies(route: ReplyRoute, label: string): void {
    const userPrefix = this.host.userPrefix;
    for (const dest of route.sendTo ?? []) {
      if (this.host.isBrokerDestination(dest) || dest.startsWith(userPrefix + '/')) continue;
      const path = this.lookupPath(dest);
      const hint = path !== undefined ? `'/topic${path}'` : `'/topic${dest}'`;
      throw new TypeError(
        `${label}: sendTo '${dest}' is not a broker destination (those start with a broker prefix) or a user destination ('${userPrefix}/{name}/…'); write for example ${hint}`,
      );
    }
    for (const dest of route.sendToUser?.destinations ?? []) {
      if (this.host.isBrokerDestination(dest)) continue;
      const hint = dest.startsWith(userPrefix + '/') ? `'${dest.slice(userPrefix.length)}' (the user prefix is added for you)` : `'/queue${dest}'`;
      throw new TypeError(`${label}: sendToUser '${dest}' must be a broker destination such as '/queue/…'; write ${hint}`);
    }
  }

  private dispatch(
    session: SessionContext,
    entry: HandlerEntry,
    path: string,
    params: Readonly<Record<string, string>>,
    destination: string,
    body: Buffer,
    contentType: string | undefined,
    headers: Record<string, string>,
    subscriptionId: string | undefined,
  ): void | Promise<void> {
    const ctx: HandlerContext = {
      command: subscriptionId === undefined ? 'SEND' : 'SUBSCRIBE',
      destination,
      params,
      headers,
      user: session.user,
      sessionId: session.sessionId,
      get attributes() {
        return session.attributes;
      },
      template: this.host.template,
      ...(subscriptionId !== undefined ? { subscriptionId } : {}),
    };
    const message: Dispatch['message'] = { payload: undefined, body, headers, ...(contentType !== undefined ? { contentType } : {}) };
    const d: Dispatch = { session, entry, path, message, ctx };
    let outcome: void | Promise<void>;
    try {
      outcome = this.run(d);
    } catch (err) {
      return this.failed(d, err);
    }
    if (isThenable(outcome)) return Promise.resolve(outcome).then(undefined, (err: unknown) => this.failed(d, err));
  }

  /** decode → validate → handler → reply, synchronous while each step is. */
  private run(d: Dispatch): void | Promise<void> {
    const { entry, message } = d;
    message.payload = this.host.converter.fromMessage(message.body, message.contentType);
    const validator = entry.validate;
    if (validator === undefined) return this.invoke(d);
    const validated = validatePayload(validator, message.payload);
    if (isThenable(validated)) {
      return Promise.resolve(validated).then((payload) => {
        message.payload = payload;
        return this.invoke(d);
      });
    }
    message.payload = validated;
    return this.invoke(d);
  }

  private invoke(d: Dispatch): void | Promise<void> {
    const result = d.entry.invoke(d.message as HandlerMessage, d.ctx);
    if (isThenable(result)) return Promise.resolve(result).then((value) => this.reply(d, d.entry, value, false));
    return this.reply(d, d.entry, result, false);
  }

  /** Routes a return value; `fromExceptionHandler` changes the default to the session's error destination. */
  private reply(d: Dispatch, route: ReplyRoute, value: unknown, fromExceptionHandler: boolean): void | Promise<void> {
    if (value === undefined || value === null) return;
    const payload = value as Payload;
    const { template } = this.host;
    const params = d.ctx.params;
    const results: Array<void | Promise<void>> = [];
    if (route.sendTo !== undefined) {
      const list = route.sendTo.length > 0 ? route.sendTo : [DEFAULT_TOPIC_PREFIX + d.path];
      for (const dest of list) results.push(this.host.publish(template.createMessage(expandPlaceholders(dest, params), payload)));
    }
    const toUser = route.sendToUser;
    if (toUser !== undefined) {
      const list = toUser.destinations ?? [DEFAULT_USER_PREFIX + d.path];
      for (const template_ of list) {
        const dest = expandPlaceholders(template_, params);
        const user = d.session.user;
        if (toUser.broadcast && user !== undefined) {
          const userDest = `${this.host.userPrefix}/${encodeUserName(user.name)}${dest}`;
          results.push(this.host.publish(template.createMessage(userDest, payload)));
        } else {
          results.push(this.host.publishToSession(d.session.sessionId, dest, template.createMessage(this.host.userPrefix + dest, payload)));
        }
      }
    }
    if (route.sendTo === undefined && toUser === undefined) {
      if (fromExceptionHandler) {
        const errors = this.host.errorDestination;
        if (errors !== null) {
          results.push(this.host.publishToSession(d.session.sessionId, errors, template.createMessage(this.host.userPrefix + errors, payload)));
        }
      } else if (d.ctx.subscriptionId !== undefined) {
        const message = template.createMessage(d.ctx.destination, payload);
        this.host.deliverToSession(d.session, { message, subscriptionId: d.ctx.subscriptionId, redelivered: false });
      } else {
        results.push(this.host.publish(template.createMessage(DEFAULT_TOPIC_PREFIX + d.path, payload)));
      }
    }
    return settleAll(results);
  }

  /** Step 4: the exception handler, or log + a non-fatal error for the session to report. */
  private failed(d: Dispatch, err: unknown): void | Promise<void> {
    const handler = pickExceptionHandler(d.entry.exceptionHandlers, err);
    if (handler === undefined) throw this.unhandled(d, err);
    this.host.logger.debug({ err, sessionId: d.session.sessionId, handler: d.entry.label }, 'handler error passed to its exception handler');
    let outcome: void | Promise<void>;
    try {
      const value = handler.invoke(err, d.message as HandlerMessage<unknown>, d.ctx);
      outcome = isThenable(value)
        ? Promise.resolve(value).then((v) => this.reply(d, handler, v, true))
        : this.reply(d, handler, value, true);
    } catch (err2) {
      throw this.unhandled(d, err2);
    }
    if (isThenable(outcome)) {
      return Promise.resolve(outcome).then(undefined, (err2: unknown) => {
        throw this.unhandled(d, err2);
      });
    }
  }

  /** Logs an unhandled error and turns it into the non-fatal StompError the client will see. */
  private unhandled(d: Dispatch, err: unknown): StompError {
    const fields = { err, sessionId: d.session.sessionId, destination: d.ctx.destination, handler: d.entry.label };
    if (err instanceof PayloadValidationError) {
      this.host.logger.debug(fields, 'invalid payload');
      return err;
    }
    this.host.logger.error(fields, 'unhandled error in message handler');
    if (typeof err === 'object' && err !== null) logged.add(err);
    if (isStompError(err)) {
      return err.fatal ? markLogged(new StompError(err.code, err.message, { fatal: false, cause: err, details: err.details })) : err;
    }
    const text = err instanceof Error && err.message ? err.message : 'message handler failed';
    return markLogged(new StompError('STOMP_ERR_HANDLER', text, { fatal: false, cause: err }));
  }
}

function markLogged(err: StompError): StompError {
  logged.add(err);
  return err;
}

/** The exception handler with the closest matching error type; a handler without types matches last. */
function pickExceptionHandler(handlers: readonly ExceptionEntry[], err: unknown): ExceptionEntry | undefined {
  let best: ExceptionEntry | undefined;
  let bestDistance = Infinity;
  for (const handler of handlers) {
    if (handler.types.length === 0) {
      if (best === undefined) {
        best = handler;
        bestDistance = Number.MAX_SAFE_INTEGER;
      }
      continue;
    }
    for (const type of handler.types) {
      const distance = inheritanceDistance(err, type);
      if (distance < bestDistance) {
        best = handler;
        bestDistance = distance;
      }
    }
  }
  return best;
}

function inheritanceDistance(err: unknown, type: Function): number {
  if (typeof err !== 'object' || err === null || !(err instanceof (type as new () => unknown))) return Infinity;
  let distance = 0;
  for (let proto = Object.getPrototypeOf(err); proto !== null && proto !== type.prototype; proto = Object.getPrototypeOf(proto)) distance++;
  return distance;
}

function settleAll(results: Array<void | Promise<void>>): void | Promise<void> {
  let pending: Promise<void>[] | undefined;
  for (const r of results) if (isThenable(r)) (pending ??= []).push(r as Promise<void>);
  if (pending === undefined) return;
  return Promise.all(pending).then(() => undefined);
}
