/**
 * Where a session's neutral messages go: the router. The session turns frames into calls on this
 * channel (connect, send, subscribe, unsubscribe, ack, nack, disconnect); the channel runs the
 * inbound interceptors, then decides by destination prefix who handles them, so sessions never
 * learn who is behind them.
 *
 * Routing of a SEND or SUBSCRIBE destination, in this order:
 * 1. an application prefix ('/app/…', several allowed) → AppDispatcher (app/): handlers only,
 *    never the broker;
 * 2. the user prefix ('/user/…') → UserDestinations (user/): resolved to per-session broker
 *    destinations ('/queue/x-user<session id>');
 * 3. a broker prefix ('/topic', '/queue') → the Broker, except resolved per-session destinations,
 *    which clients may only reach through step 2;
 * 4. anything else is refused (STOMP_ERR_DESTINATION): by default without closing the session
 *    (the explanation, naming the prefixes that exist, goes to its error destination);
 *    `strictDestinations` makes it ERROR and close. So is a SEND or SUBSCRIBE under an application
 *    prefix that no handler or subscribe mapping takes (STOMP_ERR_NO_HANDLER, app-dispatcher.ts).
 * A client's wildcard subscription ('/topic/**') would also match per-session destinations
 * ('/topic/x-user<id>' of every user): such subscriptions get a filter that skips them.
 * Application code publishes (template, handler replies) through {@link InboundChannel.publish}:
 * steps 2–4, no interceptors (they guard client frames).
 *
 * The hot path — a SEND to '/topic/…' with no interceptor configured — costs one startsWith per
 * application prefix, one for the user prefix, the broker-prefix check and one compare for the
 * '-user<id>' suffix: no allocation beyond what the broker itself does. Interceptor machinery
 * (ChannelMessage objects, the chain, outbound wrappers) exists only when interceptors are configured.
 *
 * Every method may return a promise; the session keeps frame order by waiting for it. Lifecycle
 * events (connect, subscribe, unsubscribe) are reported to {@link ChannelEvents} after the state
 * they describe is in place: a 'subscribe' after the broker registered the subscription (or,
 * for a subscribe mapping, after its reply was delivered).
 */
import type { AckMode, Broker, BrokerMessage, Consumer, Delivery, SubscriptionSpec } from '../broker/types';
import { EMPTY_BODY, header, type HeaderList } from '../codec/frame';
import { StompError, isStompError } from '../errors';
import type { Logger } from '../logger';
import { hasPrefix, type Principal, type ResolvedOptions } from '../options';
import { MessagingTemplate } from '../template';
import type { CompositeMessageConverter } from '../message-converter';
import { AppDispatcher, wasLogged, type AppHost } from '../app/app-dispatcher';
import { isThenable } from '../app/payload';
import { UserDestinations, isSessionDestination } from '../user/user-destinations';
import type { UserRegistry } from '../user/user-registry';
import {
  channelMessage,
  headerRecord,
  InterceptorChain,
  rebuildMessage,
  unchangedMessage,
  type ChannelMessage,
} from './interceptors';
import { OutboundChannel } from './outbound-channel';

/** What the channel knows of the session a message comes from. */
export interface SessionContext extends Consumer {
  readonly sessionId: string;
  readonly user: Principal | undefined;
  readonly attributes: Map<string, unknown>;
  /** Ends the session with an ERROR frame carrying `message` (used when an outbound interceptor rejects with close). */
  close?(message: string): void;
  /** False once the session is closing or closed (a SUBSCRIBE held by an async interceptor then registers nothing). */
  readonly isOpen?: boolean;
}

export interface SubscriptionInfo {
  readonly id: string;
  /** The destination as the client subscribed to it ('/user/queue/x', not the resolved one). */
  readonly destination: string;
  readonly ack: AckMode;
}

/** Lifecycle notifications, each after the state it describes is in place. */
export interface ChannelEvents {
  connect(session: SessionContext): void;
  subscribe(session: SessionContext, subscription: SubscriptionInfo): void;
  unsubscribe(session: SessionContext, subscription: SubscriptionInfo): void;
}

export interface InboundChannelInit {
  broker: Broker;
  options: ResolvedOptions;
  users: UserRegistry;
  /** Live sessions by id (user destinations address anonymous sessions by id). */
  sessions: ReadonlyMap<string, SessionContext>;
  nextMessageId: () => string;
  events?: ChannelEvents;
}

/** The frame a non-fatal error refused, as far as the error report needs it. */
export interface RefusedFrame {
  readonly command: string;
  readonly headers: HeaderList;
}

const VETOED = Symbol('vetoed');
const PURGER = 'stompkit-purge';
const NO_HEADERS: HeaderList = [];

function noop(): void {}

export class InboundChannel implements AppHost {
  readonly broker: Broker;
  readonly template: MessagingTemplate;
  readonly app: AppDispatcher;
  readonly userDestinations: UserDestinations;
  readonly outbound: OutboundChannel;
  readonly logger: Logger;
  readonly userPrefix: string;
  readonly errorDestination: string | null;
  private readonly inbound: InterceptorChain | undefined;
  private readonly brokerPrefixes: readonly string[];
  private readonly queuePrefixes: readonly string[];
  private readonly nextMessageId: () => string;
  private readonly events: ChannelEvents | undefined;
  private readonly users: UserRegistry;
  private readonly options: ResolvedOptions;

  constructor(init: InboundChannelInit) {
    const { options } = init;
    this.options = options;
    this.broker = init.broker;
    this.logger = options.logger;
    this.brokerPrefixes = options.brokerPrefixes;
    this.queuePrefixes = options.queuePrefixes;
    this.userPrefix = options.userPrefix;
    this.errorDestination = options.errorDestination;
    this.nextMessageId = init.nextMessageId;
    this.events = init.events;
    this.users = init.users;
    this.template = new MessagingTemplate((message) => this.publish(message), init.nextMessageId, options.userPrefix, options.converter);
    this.userDestinations = new UserDestinations(options.userPrefix, init.users, (id) => init.sessions.get(id), (d) => this.isBrokerDestination(d));
    this.app = new AppDispatcher(options.appPrefixes, this);
    this.outbound = new OutboundChannel(options.interceptors.outbound, init.broker, options.logger);
    const inbound = options.interceptors.inbound;
    this.inbound = inbound.length > 0 ? new InterceptorChain(inbound, 'inbound', options.logger) : undefined;
  }

  get converter(): CompositeMessageConverter {
    return this.options.converter;
  }

  get strictDestinations(): boolean {
    return this.options.strictDestinations;
  }

  isBrokerDestination(destination: string): boolean {
    const prefixes = this.brokerPrefixes;
    for (let i = 0; i < prefixes.length; i++) if (hasPrefix(destination, prefixes[i])) return true;
    return false;
  }

  // ---- client frames -----------------------------------------------------------------------------

  /** CONNECT accepted by the session (and its authenticator); interceptors may still refuse it (always fatal). */
  connect(session: SessionContext, headers: HeaderList): void | Promise<void> {
    const admit = (): void => this.events?.connect(session);
    if (this.inbound === undefined) return admit();
    const message = channelMessage({ command: 'CONNECT', headers: headerRecord(headers), body: EMPTY_BODY });
    let result: void | typeof VETOED | Promise<void | typeof VETOED>;
    try {
      result = this.inbound.run<void | typeof VETOED>(message, session, admit, VETOED);
    } catch (err) {
      throw fatal(err);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (outcome) => {
          if (outcome === VETOED) throw new StompError('STOMP_ERR_FORBIDDEN', 'CONNECT refused');
        },
        (err: unknown) => {
          throw fatal(err);
        },
      );
    }
    if (result === VETOED) throw new StompError('STOMP_ERR_FORBIDDEN', 'CONNECT refused');
  }

  send(session: SessionContext | undefined, message: BrokerMessage): void | Promise<void> {
    if (session === undefined) return this.publish(message);
    if (this.inbound === undefined) return this.routeSend(session, message);
    const initial = channelMessage({
      command: 'SEND',
      destination: message.destination,
      headers: headerRecord(message.headers),
      body: message.body,
      contentType: message.contentType,
    }, this.options.converter);
    return this.inbound.run(
      initial,
      session,
      (final) => this.routeSend(session, unchangedMessage(final, message) ? message : rebuildMessage(final, message)),
      undefined,
    );
  }

  /**
   * Registers a subscription (broker, user destination or subscribe mapping). Resolves to `false`
   * when nothing was registered: an interceptor dropped the SUBSCRIBE, or the session ended while
   * an async interceptor held it (then no 'subscribe' event fires after its 'disconnect').
   */
  subscribe(session: SessionContext, spec: SubscriptionSpec, headers: HeaderList = NO_HEADERS): void | false | Promise<void | false> {
    if (this.inbound === undefined) return this.routeSubscribe(session, spec, headers);
    const initial = channelMessage({
      command: 'SUBSCRIBE',
      destination: spec.destination,
      headers: headerRecord(headers),
      body: EMPTY_BODY,
      subscriptionId: spec.id,
    });
    return this.inbound.run<void | false>(
      initial,
      session,
      (final) => {
        if (session.isOpen === false) return false;
        const destination = final.destination ?? spec.destination;
        return this.routeSubscribe(session, destination === spec.destination ? spec : { ...spec, destination }, headers);
      },
      false,
    );
  }

  unsubscribe(session: SessionContext, subscription: SubscriptionInfo, headers: HeaderList = NO_HEADERS): boolean | Promise<boolean> {
    const effect = (): boolean | Promise<boolean> => {
      this.userDestinations.untrack(session.sessionId, subscription.id);
      const removed = this.broker.unsubscribe(session.sessionId, subscription.id);
      if (isThenable<boolean>(removed)) {
        return Promise.resolve(removed).then((known) => {
          this.events?.unsubscribe(session, subscription);
          return known;
        });
      }
      this.events?.unsubscribe(session, subscription);
      return removed;
    };
    if (this.inbound === undefined) return effect();
    const message = channelMessage({
      command: 'UNSUBSCRIBE',
      destination: subscription.destination,
      headers: headerRecord(headers),
      body: EMPTY_BODY,
      subscriptionId: subscription.id,
    });
    return this.observed(message, session, effect);
  }

  ack(session: SessionContext, ackId: string, headers: HeaderList = NO_HEADERS): boolean | Promise<boolean> {
    if (this.inbound === undefined) return this.broker.ack(session.sessionId, ackId);
    const message = channelMessage({ command: 'ACK', headers: headerRecord(headers), body: EMPTY_BODY });
    // A dropped ACK did nothing, and is not an error either.
    return this.inbound.run<boolean>(message, session, () => this.broker.ack(session.sessionId, ackId), true);
  }

  nack(session: SessionContext, ackId: string, headers: HeaderList = NO_HEADERS): boolean | Promise<boolean> {
    if (this.inbound === undefined) return this.broker.nack(session.sessionId, ackId);
    const message = channelMessage({ command: 'NACK', headers: headerRecord(headers), body: EMPTY_BODY });
    return this.inbound.run<boolean>(message, session, () => this.broker.nack(session.sessionId, ackId), true);
  }

  /** A congested session can take messages again: held queue messages may move to it. */
  resume(session: SessionContext): void | Promise<void> {
    return this.broker.resume?.(session.sessionId);
  }

  /** The session is gone (called exactly once per session, whatever ended it). Cannot be vetoed. */
  disconnect(session: SessionContext): void | Promise<void> {
    const effect = (): void | Promise<void> => {
      const sessionId = session.sessionId;
      const tracked = this.userDestinations.untrackSession(sessionId);
      this.outbound.forget(sessionId);
      const done = this.broker.disconnect(sessionId);
      const purge = (): void => {
        for (const sub of tracked) if (sub.ack !== 'auto' && this.isQueue(sub.destination)) this.purge(sub.destination);
      };
      if (isThenable(done)) return Promise.resolve(done).then(purge);
      purge();
    };
    if (this.inbound === undefined) return effect();
    return this.observed(channelMessage({ command: 'DISCONNECT', headers: Object.create(null), body: EMPTY_BODY }), session, effect);
  }

  /**
   * A frame was refused with a non-fatal error: tell the session on its error destination
   * ('/user/queue/errors' by default) with an ERROR-shaped MESSAGE — headers `message`, `code`,
   * `receipt-id` (when the frame asked for a receipt), `original-command`,
   * `original-destination` and `original-subscription` (when the frame had them); body the text.
   * Delivered only if the session subscribed to it. Never throws.
   */
  reportError(session: SessionContext, error: StompError, frame: RefusedFrame): void {
    const destination = this.errorDestination;
    if (!wasLogged(error)) {
      this.logger.warn(
        { sessionId: session.sessionId, user: session.user?.name, command: frame.command, destination: header(frame, 'destination'), code: error.code, reason: error.message },
        `${frame.command} refused; session kept open`,
      );
    }
    if (destination === null) return;
    const headers: HeaderList = [
      ['message', error.message],
      ['code', error.code],
    ];
    const receipt = header(frame, 'receipt');
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    headers.push(['original-command', frame.command]);
    const original = header(frame, 'destination');
    if (original !== undefined) headers.push(['original-destination', original]);
    if (frame.command === 'SUBSCRIBE' || frame.command === 'UNSUBSCRIBE') {
      const id = header(frame, 'id');
      if (id !== undefined) headers.push(['original-subscription', id]);
    }
    const message: BrokerMessage = {
      id: this.nextMessageId(),
      destination: this.userPrefix + destination,
      headers,
      body: Buffer.from(error.details ?? error.message, 'utf8'),
      contentType: 'text/plain;charset=utf-8',
    };
    try {
      const result = this.publishToSession(session.sessionId, destination, message);
      if (isThenable(result)) Promise.resolve(result).catch((err: unknown) => this.logger.error({ err, sessionId: session.sessionId }, 'error report failed'));
    } catch (err) {
      this.logger.error({ err, sessionId: session.sessionId }, 'error report failed');
    }
  }

  // ---- application side --------------------------------------------------------------------------

  /** Publishes from application code (template, handler replies): broker and user destinations, no interceptors. */
  publish(message: BrokerMessage): void | Promise<void> {
    const destination = message.destination;
    if (this.userDestinations.isUserDestination(destination)) return this.publishToUser(message, undefined);
    if (!this.isBrokerDestination(destination)) throw this.notABrokerDestination(destination, 'send to');
    return this.broker.publish(message);
  }

  publishToSession(sessionId: string, destination: string, message: BrokerMessage): void | Promise<void> {
    const resolved = this.userDestinations.sessionDestination(destination, sessionId);
    if (!this.userDestinations.isSubscribed(resolved)) return;
    return this.broker.publish({ ...message, destination: resolved });
  }

  deliverToSession(session: SessionContext, delivery: Delivery): void {
    this.outbound.deliver(session, delivery);
  }

  /** In-process subscription (StompBroker.subscribe): broker destinations only, no interceptors or events. */
  subscribeLocal(consumer: Consumer, spec: SubscriptionSpec): void | Promise<void> {
    if (!this.isBrokerDestination(spec.destination)) throw this.notABrokerDestination(spec.destination, 'subscribe to');
    return this.broker.subscribe(consumer, spec);
  }

  // ---- routing -----------------------------------------------------------------------------------

  private routeSend(session: SessionContext, message: BrokerMessage): void | Promise<void> {
    const destination = message.destination;
    const path = this.app.lookupPath(destination);
    if (path !== undefined) return this.app.send(session, message, path, headerRecord(message.headers));
    if (this.userDestinations.isUserDestination(destination)) return this.publishToUser(message, session.sessionId);
    this.requireClientBrokerDestination(destination, 'send to');
    return this.broker.publish(message);
  }

  private routeSubscribe(session: SessionContext, spec: SubscriptionSpec, headers: HeaderList): void | Promise<void> {
    const destination = spec.destination;
    const info: SubscriptionInfo = { id: spec.id, destination, ack: spec.ack };
    const path = this.app.lookupPath(destination);
    let result: void | Promise<void>;
    let resolved: string | undefined;
    if (path !== undefined) {
      result = this.app.subscribe(session, spec, path, headerRecord(headers));
    } else if (this.userDestinations.isUserDestination(destination)) {
      resolved = this.userDestinations.resolveSubscription(session, destination);
      result = this.broker.subscribe(this.outbound.consumer(session, destination), { ...spec, destination: resolved });
    } else {
      this.requireClientBrokerDestination(destination, 'subscribe to');
      result = this.broker.subscribe(this.outbound.consumer(session), destination.includes('*') ? guardPattern(spec) : spec);
    }
    const registered = (): void => {
      if (resolved !== undefined) this.userDestinations.track(session.sessionId, spec.id, { destination: resolved, ack: spec.ack });
      this.events?.subscribe(session, info);
    };
    if (isThenable(result)) return Promise.resolve(result).then(registered);
    registered();
  }

  /**
   * A user message another node forwarded here (Broker.forwardToUser on that node): this node's
   * sessions of the user only, never forwarded again.
   */
  deliverForwardedUserMessage(message: BrokerMessage): void | Promise<void> {
    return this.publishToUser(message, undefined, false);
  }

  private publishToUser(message: BrokerMessage, senderSessionId: string | undefined, forward = true): void | Promise<void> {
    const { name, suffix } = this.userDestinations.parseMessageDestination(message.destination);
    const targets = this.userDestinations.targets(name, suffix, senderSessionId);
    let pending: Promise<void>[] | undefined;
    if (forward && this.broker.forwardToUser !== undefined && this.users.nodesOf(name).length > 0) {
      const result = this.broker.forwardToUser(name, message);
      if (isThenable(result)) (pending ??= []).push(Promise.resolve(result));
    }
    for (let i = 0; i < targets.length; i++) {
      const copy: BrokerMessage = { ...message, id: i === 0 ? message.id : this.nextMessageId(), destination: targets[i] };
      const result = this.broker.publish(copy);
      if (isThenable(result)) (pending ??= []).push(Promise.resolve(result));
    }
    if (pending !== undefined) return Promise.all(pending).then(noop);
  }

  /**
   * Runs UNSUBSCRIBE / DISCONNECT past the interceptors for them to see; the effect happens even
   * when one drops or rejects it (logged), since refusing to let go would leave the broker and the
   * client disagreeing.
   */
  private observed<T>(message: ChannelMessage, session: SessionContext, effect: () => T | Promise<T>): T | Promise<T> {
    let ran = false;
    const run = (): T | Promise<T> => {
      ran = true;
      return effect();
    };
    const vetoed = (err?: unknown): T | Promise<T> => {
      if (ran) throw err;
      this.logger.warn({ err, sessionId: session.sessionId, command: message.command }, `${message.command} cannot be refused; interceptor result ignored`);
      return effect();
    };
    let result: T | typeof VETOED | Promise<T | typeof VETOED>;
    try {
      result = this.inbound!.run<T | typeof VETOED>(message, session, run, VETOED);
    } catch (err) {
      return vetoed(err);
    }
    if (isThenable<T | typeof VETOED>(result)) {
      return Promise.resolve(result).then((outcome) => (outcome === VETOED ? vetoed() : outcome), (err: unknown) => vetoed(err));
    }
    return result === VETOED ? vetoed() : result;
  }

  private requireClientBrokerDestination(destination: string, verb: string): void {
    if (!this.isBrokerDestination(destination)) throw this.notABrokerDestination(destination, verb, true);
    if (isSessionDestination(destination)) {
      throw new StompError(
        'STOMP_ERR_FORBIDDEN',
        `cannot ${verb} '${destination}': per-session destinations are reached through '${this.userPrefix}/…'`,
      );
    }
  }

  /**
   * A destination under no prefix. From a client: non-fatal unless `strictDestinations`, and the
   * message names every prefix that exists; from application code: a plain error for the caller.
   */
  private notABrokerDestination(destination: string, verb: string, fromClient = false): StompError {
    if (!fromClient) {
      return new StompError('STOMP_ERR_DESTINATION', `cannot ${verb} '${destination}': destinations must start with ${this.brokerPrefixes.join(', ')}`);
    }
    const known = [
      `${this.brokerPrefixes.join(', ')} (broker)`,
      ...(this.options.appPrefixes.length > 0 ? [`${this.options.appPrefixes.join(', ')} (application handlers)`] : []),
      `${this.userPrefix} (user destinations)`,
    ];
    return new StompError('STOMP_ERR_DESTINATION', `cannot ${verb} '${destination}': no destination prefix matches; destinations here start with ${known.join('; ')}`, {
      fatal: this.options.strictDestinations,
    });
  }

  /** Whether `destination` has queue (competing-consumer) semantics. */
  isQueue(destination: string): boolean {
    for (const prefix of this.queuePrefixes) if (hasPrefix(destination, prefix)) return true;
    return false;
  }

  /**
   * Drops what is held on a per-session queue destination whose session ended (unacked messages
   * return to their queue when a client-ack subscription closes; nobody could ever consume them):
   * a momentary auto-ack consumer takes them.
   */
  private purge(destination: string): void {
    const consumer: Consumer = { sessionId: PURGER, deliver: noop };
    const report = (err: unknown): void => this.logger.error({ err, destination }, 'purging a per-session destination failed');
    try {
      const subscribed = this.broker.subscribe(consumer, { id: destination, destination, ack: 'auto' });
      const release = (): void => {
        const r = this.broker.unsubscribe(PURGER, destination);
        if (isThenable(r)) Promise.resolve(r).catch(report);
      };
      if (isThenable(subscribed)) Promise.resolve(subscribed).then(release, report);
      else release();
    } catch (err) {
      report(err);
    }
  }
}

/**
 * A client wildcard subscription must not see per-session user destinations: adds a filter
 * (composed with any selector filter) that skips them. Costs only subscriptions containing '*'.
 */
function guardPattern(spec: SubscriptionSpec): SubscriptionSpec {
  const inner = spec.filter;
  const filter =
    inner === undefined
      ? (message: BrokerMessage): boolean => !isSessionDestination(message.destination)
      : (message: BrokerMessage): boolean => !isSessionDestination(message.destination) && inner(message);
  return { ...spec, filter };
}

/** Interceptor refusals of CONNECT are always fatal: there is no session to keep open yet. */
function fatal(err: unknown): unknown {
  if (isStompError(err) && !err.fatal) return new StompError(err.code, err.message, { cause: err, details: err.details, headers: err.headers });
  return err;
}
