/**
 * Every error stompkit reports carries a stable `code` from this one table. The session layer turns
 * a {@link StompError} into an ERROR frame (its `message` header is the error's message, plus
 * `receipt-id` when the offending frame asked for a receipt) and then closes the connection.
 */
export const ERROR_CODES = {
  STOMP_ERR_FRAME_TOO_LARGE: 'frame exceeds the size limit',
  STOMP_ERR_HEADER_TOO_LARGE: 'header block exceeds the size limit',
  STOMP_ERR_TOO_MANY_HEADERS: 'too many headers',
  STOMP_ERR_BAD_FRAME: 'malformed frame',
  STOMP_ERR_BAD_ESCAPE: 'undefined escape sequence in header',
  STOMP_ERR_BAD_UTF8: 'invalid UTF-8',
  STOMP_ERR_BAD_CONTENT_LENGTH: 'invalid content-length',
  STOMP_ERR_UNKNOWN_COMMAND: 'unknown command',
  STOMP_ERR_NOT_CONNECTED: 'frame received before CONNECT',
  STOMP_ERR_ALREADY_CONNECTED: 'already connected',
  STOMP_ERR_VERSION: 'no common protocol version',
  STOMP_ERR_MISSING_HEADER: 'missing required header',
  STOMP_ERR_BODY_NOT_ALLOWED: 'frame must not have a body',
  STOMP_ERR_BAD_HEADER: 'invalid header value',
  STOMP_ERR_BAD_SELECTOR: 'invalid selector',
  STOMP_ERR_DUPLICATE_SUBSCRIPTION: 'subscription id already in use',
  STOMP_ERR_UNKNOWN_SUBSCRIPTION: 'no such subscription',
  STOMP_ERR_UNKNOWN_ACK: 'no such message awaiting acknowledgement',
  STOMP_ERR_UNKNOWN_TRANSACTION: 'no such transaction',
  STOMP_ERR_DUPLICATE_TRANSACTION: 'transaction already begun',
  STOMP_ERR_DESTINATION: 'destination not allowed',
  STOMP_ERR_QUEUE_FULL: 'queue is full',
  STOMP_ERR_LIMIT: 'limit exceeded',
  STOMP_ERR_SLOW_CONSUMER: 'slow consumer',
  STOMP_ERR_HEARTBEAT_TIMEOUT: 'heart-beat timeout',
  STOMP_ERR_AUTH: 'authentication failed',
  STOMP_ERR_FORBIDDEN: 'not allowed',
  STOMP_ERR_NO_HANDLER: 'no handler for this application destination',
  STOMP_ERR_VALIDATION: 'invalid payload',
  STOMP_ERR_HANDLER: 'message handler failed',
  STOMP_ERR_SHUTDOWN: 'server shutting down',
  STOMP_ERR_BROKER_UNAVAILABLE: 'message broker unavailable',
  STOMP_ERR_INTERNAL: 'internal server error',
} as const;

export type StompErrorCode = keyof typeof ERROR_CODES;

export class StompError extends Error {
  override name = 'StompError';
  readonly code: StompErrorCode;
  /** Extra text for the ERROR frame body (the `message` header stays short, per spec advice). */
  readonly details?: string;
  /** Extra headers for the ERROR frame (e.g. `version` when negotiation fails). */
  readonly headers?: ReadonlyArray<[string, string]>;
  /**
   * Whether the error ends the session (ERROR frame, then close). Default true. A non-fatal error
   * raised while handling a frame rejects only that frame: the client gets an ERROR-shaped MESSAGE
   * on its error destination (`/user/queue/errors` by default), no RECEIPT, and the session stays open.
   */
  readonly fatal: boolean;

  constructor(
    code: StompErrorCode,
    message?: string,
    options?: { details?: string; headers?: ReadonlyArray<[string, string]>; cause?: unknown; fatal?: boolean },
  ) {
    super(message ?? ERROR_CODES[code], options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.fatal = options?.fatal ?? true;
    if (options?.details !== undefined) this.details = options.details;
    if (options?.headers !== undefined) this.headers = options.headers;
  }
}

export function isStompError(err: unknown): err is StompError {
  return err instanceof StompError;
}
