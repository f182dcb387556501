/**
 * STOMP over WebSocket with `ws` in noServer mode, so stompkit shares an http(s).Server with
 * anything else: only upgrades for our path are touched, every other `upgrade` listener keeps
 * working.
 *
 * Writes: a session's frames are framed as WebSocket messages here and written straight to the
 * socket, coalesced per cork (transport/stream-connection.ts), so every frame a session gets in one
 * tick leaves in one socket write (one STOMP frame per WebSocket message, which every
 * STOMP-over-WebSocket client expects). The MESSAGE body that is shared by all recipients of a
 * publish is written by reference, never copied per recipient. With permessage-deflate enabled, frames go through `ws.send` instead, which then owns
 * compression.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { PerMessageDeflateOptions } from 'ws';
import { WS_SUBPROTOCOLS } from '../codec/versions';
import type { Connection, ConnectionEndpoint } from '../session/connection';
import { StreamConnection, type FrameWrapper } from './stream-connection';

export interface WebSocketOptions {
  /**
   * permessage-deflate: off by default. Compression costs CPU and memory per connection (zlib
   * contexts) and defeats write coalescing; turn it on for slow links with large text payloads.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Largest WebSocket message accepted, bytes. Default: the frame limit plus 16 KiB. */
  maxPayload?: number;
}

/** Chooses the highest STOMP version the client offers as a sub-protocol; none offered is fine too. */
export function handleProtocols(protocols: Set<string>): string | false {
  for (const name of ['v12.stomp', 'v11.stomp', 'v10.stomp']) {
    if (protocols.has(name)) return name;
  }
  return false;
}

export function createWebSocketServer(options: WebSocketOptions & { maxPayload: number }): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: options.perMessageDeflate ?? false,
    maxPayload: options.maxPayload,
    handleProtocols,
  });
}

export function subprotocolVersion(ws: WebSocket): string | undefined {
  return WS_SUBPROTOCOLS[ws.protocol];
}

const OPCODE_TEXT = 0x81; // FIN + text
const OPCODE_BINARY = 0x82; // FIN + binary

/**
 * Writes the RFC 6455 §5.2 header of an unmasked (server-to-client) frame carrying `length`
 * payload bytes into `target` at `offset`; returns the offset after it (2, 4 or 10 bytes on).
 */
function frameHeader(target: Buffer, offset: number, length: number, binary: boolean): number {
  target[offset] = binary ? OPCODE_BINARY : OPCODE_TEXT;
  if (length < 126) {
    target[offset + 1] = length;
    return offset + 2;
  }
  if (length < 65536) {
    target[offset + 1] = 126;
    target.writeUInt16BE(length, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  target.writeUInt32BE(Math.floor(length / 0x100000000), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

/** ws error codes whose close code is not 1002 (protocol error); from ws/lib/receiver.js. */
const WS_ERROR_CLOSE_CODES: Record<string, number> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: 1009,
};

/** The close code ws sends for one of its protocol errors (RFC 6455 §7.4.1), from the error's `code`. */
function webSocketErrorCode(err: Error): number | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return undefined;
  return WS_ERROR_CLOSE_CODES[code] ?? 1002;
}

const kConnection = Symbol('stompkit.connection');

/** A ws socket bound to its connection: the listeners below are shared by every connection. */
interface BoundWebSocket extends WebSocket {
  [kConnection]: WebSocketConnection;
}

// Module-level listeners (`this` is the ws socket): no closure per connection, as ws does itself.
function onMessage(this: WebSocket, data: Buffer): void {
  (this as BoundWebSocket)[kConnection].endpoint!.receive(data);
}
function onClose(this: WebSocket, code: number): void {
  const connection = (this as BoundWebSocket)[kConnection];
  // ws's 'close' only reports 1006 after a protocol error; the code it answered with is the one.
  connection.endpoint!.transportClosed(connection.errorCode ?? code);
}
function onError(this: WebSocket, err: Error): void {
  const connection = (this as BoundWebSocket)[kConnection];
  const closeCode = webSocketErrorCode(err);
  connection.errorCode ??= closeCode;
  connection.endpoint!.transportError(err, closeCode);
}

/** RFC 6455 framing for the write batch: a header before each STOMP frame. */
const WEBSOCKET_FRAMES: FrameWrapper = {
  headerBytes: (length) => (length < 126 ? 2 : length < 65536 ? 4 : 10),
  writeHeader: frameHeader,
};

export class WebSocketConnection extends StreamConnection implements Connection {
  private readonly direct: boolean;
  /** @internal The close code ws answered its first protocol error with. */
  errorCode: number | undefined = undefined;

  constructor(
    readonly ws: WebSocket,
    socket: Duplex,
    compression: boolean,
    /** 'websocket', or 'sockjs/websocket-raw' for a plain WebSocket at a SockJS endpoint's `<path>/websocket`. */
    readonly transport: string = 'websocket',
  ) {
    super(socket, WEBSOCKET_FRAMES);
    this.direct = !compression;
  }

  sendFrame(parts: readonly Buffer[], binary: boolean): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.direct) {
      this.ws.send(parts.length === 1 ? parts[0] : Buffer.concat(parts), { binary });
      return;
    }
    this.enqueue(parts, binary);
  }

  // With compression, ws.send frames and compresses: a batch is the socket's own cork.
  protected override startBatch(): void {
    if (this.direct) super.startBatch();
    else this.socket.cork();
  }

  protected override endBatch(): void {
    if (this.direct) super.endBatch();
    else this.socket.uncork();
  }

  // A close frame (ours or ws's reply to the peer's) may already be out: nothing may follow it.
  protected get writable(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    // Frames sent before the close leave before it.
    this.flushNow();
    this.closing = true;
    // A session paused for an async frame (e.g. CONNECT awaiting the authenticator) must read
    // again, or the peer's close frame is never seen and the close waits for ws's 30 s timeout.
    this.ws.resume();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason.slice(0, 120));
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  terminate(): void {
    this.closing = true;
    this.discardPending();
    this.ws.terminate();
  }

  bind(endpoint: ConnectionEndpoint): void {
    this.endpoint = endpoint;
    const ws = this.ws as BoundWebSocket;
    ws[kConnection] = this;
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
  }
}

export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
