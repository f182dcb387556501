/**
 * The public shapes of application handlers: what a handler receives (message and context), how
 * its reply is routed, and the options of `broker.handle()` / `broker.subscribeMapping()`. The
 * decorators (decorators.ts) produce exactly the same registrations.
 */
import type { Principal } from '../options';
import type { MessagingTemplate } from '../template';
import type { PayloadValidator } from './payload';

/** The message a handler receives. */
export interface HandlerMessage<P = any> {
  /**
   * The body converted by the broker's message converters (default: `application/json` → parsed,
   * `text/*` → string, `application/octet-stream` → Buffer, no content-type → JSON when it parses,
   * else a string, else the Buffer when not UTF-8), validated when a validator is set.
   */
  readonly payload: P;
  readonly body: Buffer;
  /**
   * The frame's headers, first of repeats (a null-prototype record). For a SEND: the user headers
   * plus `destination`, `content-type` (when sent) and `content-length` (the body's bytes);
   * `receipt` and `transaction` are not there (the session answers and applies them before the
   * handler runs). For a subscribe mapping: every header of the SUBSCRIBE frame.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The frame's `content-type`, as sent; undefined when it had none. */
  readonly contentType?: string;
}

/** Everything a handler may want to know about where a message came from. */
export interface HandlerContext {
  /** 'SEND' for message mappings, 'SUBSCRIBE' for subscribe mappings. */
  readonly command: 'SEND' | 'SUBSCRIBE';
  /** The full destination, application prefix included ('/app/chat/general'). */
  readonly destination: string;
  /** Path variables of the matched pattern ('/chat/{room}' → { room: 'general' }). */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** The session's principal; undefined for anonymous sessions. */
  readonly user?: Principal;
  readonly sessionId: string;
  /** Session attributes (filled at the handshake, kept for the session's life). */
  readonly attributes: Map<string, unknown>;
  readonly template: MessagingTemplate;
  /** The SUBSCRIBE frame's subscription id (subscribe mappings only). */
  readonly subscriptionId?: string;
}

/**
 * A handler for an application destination. Its return value (or what its promise resolves to)
 * is the reply; `undefined` or `null` sends nothing.
 */
export type MessageHandler<P = any, R = unknown> = (message: HandlerMessage<P>, ctx: HandlerContext) => R | Promise<R>;

/**
 * Handles an error thrown by a handler or its validator. Its return value is the reply: sent to
 * the handler's own `sendTo` / `sendToUser` when it has them (decorated exception handlers), else
 * to the sending session's error destination (`/user/queue/errors` by default). Throwing from it
 * makes the error unhandled again.
 */
export type ExceptionHandler = (error: unknown, message: HandlerMessage<unknown>, ctx: HandlerContext) => unknown;

/**
 * Reply to the sender's user destination. `true` = the default destination ('/queue' + the lookup
 * path, as Spring). A string or `destination` names it ('/queue/replies', `{var}` placeholders
 * allowed). `broadcast` (default true) sends to every session of the user; false only to the
 * sending session. Anonymous sessions always get the reply on the sending session only.
 */
export type SendToUserOption = true | string | { destination?: string; broadcast?: boolean };

export interface HandleOptions<P = any> {
  /**
   * Broker destination(s) for the return value, with `{var}` placeholders from path variables.
   * Default (when neither sendTo nor sendToUser is set): '/topic' + the lookup path, so
   * `/app/chat/general` replies to `/topic/chat/general`. For subscribe mappings the default is
   * the subscription itself.
   */
  sendTo?: string | string[];
  sendToUser?: SendToUserOption;
  /** Validates (and may transform) the payload before the handler runs; failures reach `onError`. */
  validate?: PayloadValidator<P>;
  /** Handles errors of this handler; see {@link ExceptionHandler}. */
  onError?: ExceptionHandler;
}
