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
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { PerMessageDeflateOptions } from 'ws';
import { WS_SUBPROTOCOLS } from '../codec/versions';
import type { Connection } from '../session/connection';

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
function handleProtocols(protocols: Set<string>): string | false {
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

/** RFC 6455 §5.2 header of an unmasked (server-to-client) frame. */
function frameHeader(length: number, binary: boolean): Buffer {
  let header: Buffer;
  if (length < 126) {
    header = Buffer.allocUnsafe(2);
    header[1] = length;
  } else if (length < 65536) {
    header = Buffer.allocUnsafe(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.allocUnsafe(10);
    header[1] = 127;
    header.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  header[0] = binary ? OPCODE_BINARY : OPCODE_TEXT;
  return header;
}

export class WebSocketConnection implements Connection {
  private readonly direct: boolean;
  private closing = false;

  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    compression: boolean,
  ) {
    this.direct = !compression;
  }

  sendFrame(parts: readonly Buffer[], binary: boolean): void {
    if (this.closing || this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.direct) {
      this.ws.send(parts.length === 1 ? parts[0] : Buffer.concat(parts), { binary });
      return;
    }
    const socket = this.socket;
    // [head, shared]: the small per-recipient head joins the frame header in one buffer;
    // the shared part (headers + body encoded once per publish) is written by reference.
    let length = 0;
    for (let i = 0; i < parts.length; i++) length += parts[i].length;
    const fh = frameHeader(length, binary);
    const head = parts[0];
    const first = Buffer.allocUnsafe(fh.length + head.length);
    fh.copy(first, 0);
    head.copy(first, fh.length);
    socket.write(first);
    for (let i = 1; i < parts.length; i++) socket.write(parts[i]);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason.slice(0, 120));
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }
}

export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
