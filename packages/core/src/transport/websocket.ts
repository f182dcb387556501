/**
 * STOMP over WebSocket with `ws` in noServer mode, so stompkit shares an http(s).Server with
 * anything else: only upgrades for our path are touched, every other `upgrade` listener keeps
 * working.
 *
 * Writes: a session's frames are framed as WebSocket messages here and written straight to the
 * socket inside a cork, so every frame a session gets in one tick leaves in one socket write (one
 * STOMP frame per WebSocket message, which every STOMP-over-WebSocket client expects). The MESSAGE
 * body that is shared by all recipients of a publish is written by reference, never copied per
 * recipient. With permessage-deflate enabled, frames go through `ws.send` instead, which then owns
 * compression.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { PerMessageDeflateOptions } from 'ws';
import { WS_SUBPROTOCOLS } from '../codec/versions';
import type { Connection, ConnectionEndpoint } from '../session/connection';

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

export class WebSocketConnection implements Connection {
  /**
   * Parts up to this many bytes are copied into the one buffer a flush writes; larger ones (big
   * shared bodies) are written by reference, so a 64 KiB body fanned out is never copied per
   * recipient. Copying a small part is cheaper than the stream bookkeeping of writing it alone.
   */
  private static readonly COPY_LIMIT = 4096;

  private readonly direct: boolean;
  private closing = false;
  /** Nesting depth of cork(). */
  private corks = 0;
  /**
   * While corked: the frames to write, as (parts, binary) pairs, flattened. Created by the first
   * cork() of a tick and dropped by the last uncork(), so an idle connection holds no array.
   */
  private pending: Array<readonly Buffer[] | boolean> | undefined = undefined;
  /** Bytes the flush copies: every frame header plus every part up to COPY_LIMIT. */
  private pendingCopyBytes = 0;
  /** Wire bytes of the pending frames (for bufferedBytes). */
  private pendingBytes = 0;
  /** @internal Receives the socket's events (bind()). */
  endpoint: ConnectionEndpoint | undefined = undefined;
  /** @internal The close code ws answered its first protocol error with. */
  errorCode: number | undefined = undefined;
  private drainWatched = false;

  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    compression: boolean,
    /** 'websocket', or 'sockjs/websocket-raw' for a plain WebSocket at a SockJS endpoint's `<path>/websocket`. */
    readonly transport: string = 'websocket',
  ) {
    this.direct = !compression;
  }

  sendFrame(parts: readonly Buffer[], binary: boolean): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.direct) {
      this.ws.send(parts.length === 1 ? parts[0] : Buffer.concat(parts), { binary });
      return;
    }
    let length = 0;
    let copy = 0;
    for (let i = 0; i < parts.length; i++) {
      const n = parts[i].length;
      length += n;
      if (n <= WebSocketConnection.COPY_LIMIT) copy += n;
    }
    const headerBytes = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const pending = this.pending;
    if (pending === undefined) {
      // Not corked (the session always corks; this keeps the contract for other callers).
      this.cork();
      this.sendFrame(parts, binary);
      this.uncork();
      return;
    }
    pending.push(parts, binary);
    this.pendingCopyBytes += headerBytes + copy;
    this.pendingBytes += headerBytes + length;
  }

  /**
   * Starts (or nests) a batch. Frames sent until the matching uncork() are framed into one buffer
   * and leave in one socket write, instead of two stream writes per frame.
   */
  cork(): void {
    if (this.corks++ === 0) {
      if (this.direct) this.pending = [];
      else this.socket.cork();
    }
  }

  uncork(): void {
    if (this.corks === 0) return;
    if (--this.corks > 0) return;
    if (!this.direct) {
      this.pending = undefined;
      this.socket.uncork();
      return;
    }
    this.flushPending();
  }

  /**
   * Writes the pending frames: WebSocket headers and small parts copied into one buffer, large
   * parts between its slices by reference, all inside one socket cork (one writev).
   */
  private flushPending(): void {
    const pending = this.pending;
    const copyBytes = this.pendingCopyBytes;
    this.pending = undefined;
    this.pendingCopyBytes = this.pendingBytes = 0;
    // A close frame (ours or ws's reply to the peer's) may already be out: nothing may follow it.
    if (pending === undefined || pending.length === 0 || this.ws.readyState !== WebSocket.OPEN) return;
    const socket = this.socket;
    const out = Buffer.allocUnsafe(copyBytes);
    const limit = WebSocketConnection.COPY_LIMIT;
    let offset = 0;
    let start = 0;
    let corked = false;
    for (let f = 0; f < pending.length; f += 2) {
      const parts = pending[f] as readonly Buffer[];
      let length = 0;
      for (let i = 0; i < parts.length; i++) length += parts[i].length;
      offset = frameHeader(out, offset, length, pending[f + 1] as boolean);
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        if (part.length <= limit) {
          offset += part.copy(out, offset);
          continue;
        }
        if (!corked) {
          corked = true;
          socket.cork();
        }
        if (offset > start) socket.write(out.subarray(start, offset));
        socket.write(part);
        start = offset;
      }
    }
    if (offset > start) socket.write(start === 0 ? out : out.subarray(start, offset));
    if (corked) socket.uncork();
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    // Frames sent before the close leave before it.
    if (this.pending !== undefined) {
      this.corks = 0;
      this.flushPending();
    }
    this.closing = true;
    // A session paused for an async frame (e.g. CONNECT awaiting the authenticator) must read
    // again, or the peer's close frame is never seen and the close waits for ws's 30 s timeout.
    this.ws.resume();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason.slice(0, 120));
  }

  get remoteAddress(): string | undefined {
    return (this.socket as Partial<Socket>).remoteAddress;
  }

  get bufferedBytes(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  terminate(): void {
    this.closing = true;
    this.pending = undefined;
    this.corks = 0;
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

  watchDrain(): void {
    if (this.drainWatched) return;
    this.drainWatched = true;
    this.socket.once('drain', () => {
      this.drainWatched = false;
      this.endpoint?.drained();
    });
  }
}

export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
