/**
 * What a session needs from its transport: WebSocket (transport/websocket.ts), SockJS
 * (transport/sockjs.ts) and TCP/TLS (transport/tcp.ts) implement the same few calls. Bytes in are
 * a stream: a chunk may end inside a frame or hold several (the session's decoder is incremental).
 */
export interface Connection {
  /** The transport's name, for the inspector and logs: 'websocket', 'tcp', 'tls', 'sockjs/xhr-streaming', ... */
  readonly transport: string;
  /** Send one STOMP frame, given as parts that are concatenated on the wire, as one transport message. */
  sendFrame(parts: readonly Buffer[], binary: boolean): void;
  /** Begin batching writes; writes made until the matching uncork() leave in one socket write. */
  cork(): void;
  uncork(): void;
  /** Flush what was sent, then close the transport. Idempotent. */
  close(code: number, reason: string): void;
  /** Destroy the transport now, without a close handshake (for a peer that does not read). */
  terminate(): void;
  /**
   * Delivers transport events to `endpoint` from now on (a connection has one endpoint, its
   * session, bound right after the session is made).
   */
  bind(endpoint: ConnectionEndpoint): void;
  /** Calls the endpoint's drained() once, when the write buffer has flushed after filling up. */
  watchDrain(): void;
  /** The peer's IP address (undefined when unknown, e.g. asked first after the close). */
  readonly remoteAddress: string | undefined;
  /** Bytes handed to the transport and not yet written to the network. */
  readonly bufferedBytes: number;
  /** Stop reading from the peer while a frame is handled asynchronously, and start again. */
  pause(): void;
  resume(): void;
  /**
   * True when the transport carries text only (SockJS): a MESSAGE whose body is not UTF-8 is then
   * sent base64-encoded (session/binary.ts) instead of as a binary message. Default false.
   */
  readonly textOnly?: boolean;
}

/** What a transport reports to its session. */
export interface ConnectionEndpoint {
  /** Bytes from the peer (one WebSocket message, or a TCP chunk). */
  receive(chunk: Buffer): void;
  /** The transport closed; `code` is the close code (the one the transport answered its own error with, if any). */
  transportClosed(code?: number): void;
  /** The transport saw an error and closes itself; `closeCode` when it was the peer's (protocol, size). */
  transportError(err: Error, closeCode: number | undefined): void;
  /** The write buffer flushed after watchDrain(). */
  drained(): void;
}

/** WebSocket close codes we use (RFC 6455 §7.4.1). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  POLICY_VIOLATION: 1008,
  INTERNAL_ERROR: 1011,
} as const;
