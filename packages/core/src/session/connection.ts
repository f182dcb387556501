/**
 * What a session needs from its transport. WebSocket is the transport today; a TCP or SockJS
 * transport implements the same few calls.
 */
export interface Connection {
  /** Send one STOMP frame, given as parts that are concatenated on the wire, as one transport message. */
  sendFrame(parts: readonly Buffer[], binary: boolean): void;
  /** Begin batching writes; writes made until the matching uncork() leave in one socket write. */
  cork(): void;
  uncork(): void;
  /** Flush what was sent, then close the transport. Idempotent. */
  close(code: number, reason: string): void;
  /** Destroy the transport now, without a close handshake (for a peer that does not read). */
  terminate(): void;
  /** Calls `listener` whenever the transport's write buffer has flushed after filling up. */
  onDrain(listener: () => void): void;
  /** Bytes handed to the transport and not yet written to the network. */
  readonly bufferedBytes: number;
  /** Stop reading from the peer while a frame is handled asynchronously, and start again. */
  pause(): void;
  resume(): void;
}

/** WebSocket close codes we use (RFC 6455 §7.4.1). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  POLICY_VIOLATION: 1008,
  INTERNAL_ERROR: 1011,
} as const;
