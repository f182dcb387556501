/**
 * Channel interceptors: hooks on inbound frames (CONNECT, SEND, SUBSCRIBE, UNSUBSCRIBE, ACK,
 * NACK, DISCONNECT, as neutral {@link ChannelMessage}s) and on outbound MESSAGE deliveries, for
 * per-destination authorization, auditing, header stamping.
 *
 * One run of {@link InterceptorChain.run}:
 * 1. `preSend` of each interceptor in order. It returns the message to pass on (the same object,
 *    possibly mutated, or a new one), `undefined` (= unchanged), `null` (= drop), or a
 *    {@link Reject} made by {@link reject}; it may be async. The chain stops at the first drop or
 *    reject. "Passed" interceptors are those whose preSend passed the message on.
 * 2. If every preSend passed it on, the effect runs (route to a handler, the broker, a session).
 * 3. `postSend(message, ctx, sent)` of the passed interceptors, last first: sent = true after the
 *    effect completed, false when a later interceptor dropped the message.
 * 4. `afterCompletion(message, ctx, error?)` of the passed interceptors, last first, always: with
 *    the error when the effect failed or a later interceptor rejected.
 * Errors thrown by postSend / afterCompletion are logged and never change the outcome.
 *
 * What the outcomes mean for the client (inbound):
 * - drop: the frame has no effect but is otherwise treated as handled, RECEIPT included, so a
 *   client cannot tell a drop from success (Spring's `null` from preSend). Use reject() to tell it.
 * - reject(reason): by default the strict STOMP answer, ERROR frame + close. With
 *   `{ close: false }` only that frame is refused: the client gets an ERROR-shaped MESSAGE on its
 *   error destination (`/user/queue/errors`), no RECEIPT, and the session stays open.
 *   A CONNECT is always refused with ERROR + close (there is no session to keep yet).
 * - UNSUBSCRIBE and DISCONNECT cannot be vetoed (they only ever take rights away; a vetoed one
 *   would leave the broker and the client disagreeing): interceptors see them, their result is ignored.
 * - Throwing from preSend is fatal: a StompError as itself, anything else as an internal error (logged).
 *
 * Outbound (MESSAGE to a session): drop and reject(…, { close: false }) skip that delivery (a
 * delivery awaiting ACK is acknowledged, so it does not hold a queue); reject() closes the session
 * with an ERROR carrying the reason. The outbound chain only exists when an outbound interceptor is
 * configured; otherwise deliveries go from the broker straight to the session.
 */
import { StompError, type StompErrorCode } from '../errors';
import type { HeaderList } from '../codec/frame';
import type { BrokerMessage } from '../broker/types';
import { toHeaderList } from '../template';
import type { Logger } from '../logger';
import type { Principal } from '../options';
import { isThenable } from '../app/payload';
import { DEFAULT_CONVERTER, type CompositeMessageConverter } from '../message-converter';
import type { SessionContext } from './inbound-channel';

export type ChannelCommand = 'CONNECT' | 'SEND' | 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'ACK' | 'NACK' | 'DISCONNECT' | 'MESSAGE';

/** A frame as interceptors see it. Mutate it or return a modified copy from preSend. */
export interface ChannelMessage {
  readonly command: ChannelCommand;
  /** SEND, SUBSCRIBE, MESSAGE; UNSUBSCRIBE (the subscription's). Changing it reroutes SEND and SUBSCRIBE. */
  destination?: string;
  /**
   * SEND and MESSAGE: the user headers (server-owned ones such as destination and content-type are
   * fields of their own). Other commands: every frame header. First of repeated headers only.
   */
  headers: Record<string, string>;
  /** SEND, MESSAGE: the body. Assign a new Buffer (and contentType) to change the content. */
  body: Buffer;
  contentType?: string;
  /** SUBSCRIBE, UNSUBSCRIBE, MESSAGE: the subscription id. */
  readonly subscriptionId?: string;
  /** The body decoded per content-type (JSON, text, else the Buffer); computed on first read. Read-only view of `body`. */
  readonly payload: unknown;
}

export interface ChannelContext {
  readonly direction: 'inbound' | 'outbound';
  readonly session: SessionContext;
  readonly sessionId: string;
  readonly user: Principal | undefined;
  readonly attributes: Map<string, unknown>;
}

/** The message to pass on (same or new object), nothing (= unchanged), null (= drop) or a Reject. */
export type PreSendResult = ChannelMessage | null | undefined | void | Reject;

export interface ChannelInterceptor {
  preSend?(message: ChannelMessage, ctx: ChannelContext): PreSendResult | Promise<PreSendResult>;
  postSend?(message: ChannelMessage, ctx: ChannelContext, sent: boolean): void;
  afterCompletion?(message: ChannelMessage, ctx: ChannelContext, error?: unknown): void;
}

export interface RejectOptions {
  /** true (default): ERROR frame and close. false: refuse this frame only, keep the session. */
  close?: boolean;
  /** Error code reported to the client (ERROR `code` on the error destination). Default STOMP_ERR_FORBIDDEN. */
  code?: StompErrorCode;
}

/** A refusal returned by preSend; make one with {@link reject}. */
export class Reject {
  constructor(
    readonly reason: string,
    readonly close: boolean,
    readonly code: StompErrorCode,
  ) {}

  toError(): StompError {
    return new StompError(this.code, this.reason, { fatal: this.close });
  }
}

/** Refuses a frame from preSend: `return reject('not a member of this room', { close: false })`. */
export function reject(reason: string, options: RejectOptions = {}): Reject {
  return new Reject(reason, options.close !== false, options.code ?? 'STOMP_ERR_FORBIDDEN');
}

export interface ChannelMessageFields {
  command: ChannelCommand;
  destination?: string;
  headers: Record<string, string>;
  body: Buffer;
  contentType?: string;
  subscriptionId?: string;
}

/** Builds a ChannelMessage whose `payload` is decoded lazily (an own enumerable getter, so `{ ...message }` copies it). */
export function channelMessage(fields: ChannelMessageFields, converter: CompositeMessageConverter = DEFAULT_CONVERTER): ChannelMessage {
  const message = fields as ChannelMessageFields & { payload?: unknown };
  let decoded = false;
  let payload: unknown;
  Object.defineProperty(message, 'payload', {
    enumerable: true,
    configurable: true,
    get(this: ChannelMessage) {
      if (!decoded) {
        decoded = true;
        try {
          payload = converter.fromMessage(this.body, this.contentType);
        } catch {
          payload = this.body;
        }
      }
      return payload;
    },
  });
  return message as ChannelMessage;
}

/** Header list → record, first of repeats wins. Null prototype: a header named `__proto__` is just a header. */
export function headerRecord(headers: HeaderList): Record<string, string> {
  const record: Record<string, string> = Object.create(null);
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];
    if (!Object.prototype.hasOwnProperty.call(record, name)) record[name] = value;
  }
  return record;
}

export class InterceptorChain {
  constructor(
    readonly interceptors: readonly ChannelInterceptor[],
    readonly direction: 'inbound' | 'outbound',
    private readonly logger: Logger,
  ) {}

  /**
   * Runs `message` through the interceptors, then `effect` with the final message. Returns what
   * the effect returns, `dropped` when an interceptor dropped the message; throws (or rejects
   * with) a StompError when one rejected it. Synchronous while every step is.
   */
  run<T>(message: ChannelMessage, session: SessionContext, effect: (message: ChannelMessage) => T | Promise<T>, dropped: T): T | Promise<T> {
    const ctx: ChannelContext = {
      direction: this.direction,
      session,
      sessionId: session.sessionId,
      user: session.user,
      // A getter: the session makes its attribute map only when someone uses it.
      get attributes() {
        return session.attributes;
      },
    };
    return new Invocation(this.interceptors, message, ctx, effect, dropped, this.logger).next(0);
  }
}

class Invocation<T> {
  /** Interceptors [0, passed) passed the message on and get postSend / afterCompletion. */
  private passed = 0;

  constructor(
    private readonly interceptors: readonly ChannelInterceptor[],
    private message: ChannelMessage,
    private readonly ctx: ChannelContext,
    private readonly effect: (message: ChannelMessage) => T | Promise<T>,
    private readonly dropped: T,
    private readonly logger: Logger,
  ) {}

  next(from: number): T | Promise<T> {
    const list = this.interceptors;
    for (let i = from; i < list.length; i++) {
      const interceptor = list[i];
      if (interceptor.preSend === undefined) {
        this.passed = i + 1;
        continue;
      }
      let passOn: boolean;
      try {
        const out = interceptor.preSend(this.message, this.ctx);
        if (isThenable<PreSendResult>(out)) return this.await(out, i);
        passOn = this.accept(out, i);
      } catch (err) {
        return this.fail(err);
      }
      if (!passOn) return this.drop();
    }
    return this.proceed();
  }

  private await(out: PromiseLike<PreSendResult>, index: number): Promise<T> {
    return Promise.resolve(out).then(
      (result) => {
        let passOn: boolean;
        try {
          passOn = this.accept(result, index);
        } catch (err) {
          return this.fail(err);
        }
        return passOn ? this.next(index + 1) : this.drop();
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** Applies one preSend result: true = pass on, false = drop; throws the StompError of a Reject. */
  private accept(result: PreSendResult, index: number): boolean {
    if (result === null) return false;
    if (result instanceof Reject) throw result.toError();
    if (result !== undefined) {
      if (typeof result !== 'object' || result.command !== this.message.command) {
        throw new TypeError(`preSend must return the message, a copy of it with the same command, null, undefined or reject()`);
      }
      this.message = result;
    }
    this.passed = index + 1;
    return true;
  }

  private proceed(): T | Promise<T> {
    let result: T | Promise<T>;
    try {
      result = this.effect(this.message);
    } catch (err) {
      return this.fail(err);
    }
    if (isThenable<T>(result)) {
      return Promise.resolve(result).then(
        (value) => {
          this.complete(true, undefined);
          return value;
        },
        (err: unknown) => this.fail(err),
      );
    }
    this.complete(true, undefined);
    return result;
  }

  private drop(): T {
    this.complete(false, undefined);
    return this.dropped;
  }

  private fail(err: unknown): never {
    this.complete(undefined, err);
    throw err;
  }

  /** postSend (when `sent` is known) then afterCompletion, passed interceptors last first. */
  private complete(sent: boolean | undefined, error: unknown): void {
    const list = this.interceptors;
    if (sent !== undefined) {
      for (let i = this.passed - 1; i >= 0; i--) {
        const hook = list[i].postSend;
        if (hook !== undefined) this.guard(() => hook.call(list[i], this.message, this.ctx, sent), 'postSend');
      }
    }
    for (let i = this.passed - 1; i >= 0; i--) {
      const hook = list[i].afterCompletion;
      if (hook !== undefined) {
        this.guard(() => (error === undefined ? hook.call(list[i], this.message, this.ctx) : hook.call(list[i], this.message, this.ctx, error)), 'afterCompletion');
      }
    }
  }

  private guard(call: () => unknown, hook: string): void {
    try {
      const out = call();
      if (isThenable(out)) {
        Promise.resolve(out).catch((err: unknown) => this.logger.error({ err, sessionId: this.ctx.sessionId }, `channel interceptor ${hook} failed`));
      }
    } catch (err) {
      this.logger.error({ err, sessionId: this.ctx.sessionId }, `channel interceptor ${hook} failed`);
    }
  }
}

/** Whether `final` still says exactly what `original` says (then the original, and its cached encoding, is reused). */
export function unchangedMessage(final: ChannelMessage, original: BrokerMessage): boolean {
  if (final.destination !== original.destination || final.body !== original.body || final.contentType !== original.contentType) return false;
  const headers = final.headers;
  const list = original.headers;
  let distinct = 0;
  for (let i = 0; i < list.length; i++) {
    const name = list[i][0];
    let repeat = false;
    for (let j = 0; j < i && !repeat; j++) repeat = list[j][0] === name;
    if (repeat) continue;
    distinct++;
    if (!Object.prototype.hasOwnProperty.call(headers, name) || headers[name] !== list[i][1]) return false;
  }
  let count = 0;
  for (const name in headers) if (Object.prototype.hasOwnProperty.call(headers, name)) count++;
  return count === distinct;
}

/** A BrokerMessage with `final`'s destination, headers and body, keeping the original id and sender. */
export function rebuildMessage(final: ChannelMessage, original: BrokerMessage): BrokerMessage {
  const message: { -readonly [K in keyof BrokerMessage]: BrokerMessage[K] } = {
    id: original.id,
    destination: final.destination ?? original.destination,
    headers: toHeaderList(final.headers),
    body: final.body,
  };
  if (final.contentType !== undefined) message.contentType = final.contentType;
  if (original.senderSessionId !== undefined) message.senderSessionId = original.senderSessionId;
  return message;
}
