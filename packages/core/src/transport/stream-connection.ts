/**
 * Write coalescing for the transports that own a byte stream: WebSocket (transport/websocket.ts)
 * and TCP/TLS (transport/tcp.ts). SockJS hands whole messages to sockjs and does not use it.
 *
 * Between cork() and the matching uncork() (the session corks once per tick), frames are only
 * recorded. The last uncork() writes them all at once: small parts (and each frame's wire header,
 * if the transport has one) are copied into one buffer, and parts over COPY_LIMIT (a big MESSAGE
 * body shared by every recipient of a publish) are written by reference between its slices,
 * inside one stream cork, so they leave in one writev and are never copied per recipient.
 *
 * Invariant: `pendingCopyBytes` is exactly what the flush copies (headers plus small parts), so
 * the flush buffer is allocated once and filled to its end.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionEndpoint } from '../session/connection';

/**
 * Parts up to this many bytes are copied into the one buffer a flush writes; larger ones are
 * written by reference. Copying a small part is cheaper than the stream bookkeeping of writing it alone.
 */
const COPY_LIMIT = 4096;

/** How a transport wraps each frame on the wire (a WebSocket frame header); TCP writes frames bare. */
export interface FrameWrapper {
  /** Header bytes before a frame of `length` payload bytes. */
  headerBytes(length: number): number;
  /** Writes that header into `target` at `offset`; returns the offset after it. */
  writeHeader(target: Buffer, offset: number, length: number, binary: boolean): number;
}

const kStreamConnection = Symbol('stompkit.stream-connection');

interface BoundStream extends Duplex {
  [kStreamConnection]: StreamConnection;
}

// Module-level listener (`this` is the stream): no closure per drain wait.
function onDrain(this: Duplex): void {
  (this as BoundStream)[kStreamConnection].drain();
}

export abstract class StreamConnection {
  /** @internal Receives the transport's events (bind()). */
  endpoint: ConnectionEndpoint | undefined = undefined;
  protected closing = false;
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
  private drainWatched = false;

  constructor(
    /** The byte stream frames are written to. */
    protected readonly socket: Duplex,
    private readonly wrapper: FrameWrapper | undefined,
  ) {
    (socket as BoundStream)[kStreamConnection] = this;
  }

  /** False once frames may no longer be written (the stream or the protocol above it has closed). */
  protected abstract get writable(): boolean;

  /** Records a frame for the current batch (a batch of its own when not corked). */
  protected enqueue(parts: readonly Buffer[], binary: boolean): void {
    const pending = this.pending;
    if (pending === undefined) {
      // Not corked (the session always corks; this keeps the contract for other callers).
      this.cork();
      this.enqueue(parts, binary);
      this.uncork();
      return;
    }
    let length = 0;
    let copy = 0;
    for (let i = 0; i < parts.length; i++) {
      const n = parts[i].length;
      length += n;
      if (n <= COPY_LIMIT) copy += n;
    }
    const headerBytes = this.wrapper === undefined ? 0 : this.wrapper.headerBytes(length);
    pending.push(parts, binary);
    this.pendingCopyBytes += headerBytes + copy;
    this.pendingBytes += headerBytes + length;
  }

  /**
   * Starts (or nests) a batch. Frames sent until the matching uncork() leave in one socket write,
   * instead of one or more stream writes per frame.
   */
  cork(): void {
    if (this.corks++ === 0) this.startBatch();
  }

  uncork(): void {
    if (this.corks === 0) return;
    if (--this.corks > 0) return;
    this.endBatch();
  }

  /** The first cork() of a batch. */
  protected startBatch(): void {
    this.pending = [];
  }

  /** The last uncork() of a batch. */
  protected endBatch(): void {
    this.flushPending();
  }

  /** Writes what the batch holds now, ending the batch (before a close: frames sent leave before it). */
  protected flushNow(): void {
    if (this.pending === undefined) return;
    this.corks = 0;
    this.flushPending();
  }

  /** Forgets the batch without writing it (the stream is gone or being destroyed). */
  protected discardPending(): void {
    this.pending = undefined;
    this.corks = 0;
  }

  /**
   * Writes the pending frames: headers and small parts copied into one buffer, large parts
   * between its slices by reference, all inside one stream cork (one writev).
   */
  private flushPending(): void {
    const pending = this.pending;
    const copyBytes = this.pendingCopyBytes;
    this.pending = undefined;
    this.pendingCopyBytes = this.pendingBytes = 0;
    if (pending === undefined || pending.length === 0 || !this.writable) return;
    const socket = this.socket;
    const wrapper = this.wrapper;
    if (wrapper === undefined && pending.length === 2 && (pending[0] as readonly Buffer[]).length === 1) {
      // One bare single-part frame: nothing to coalesce.
      socket.write((pending[0] as readonly Buffer[])[0]);
      return;
    }
    const out = Buffer.allocUnsafe(copyBytes);
    let offset = 0;
    let start = 0;
    let corked = false;
    for (let f = 0; f < pending.length; f += 2) {
      const parts = pending[f] as readonly Buffer[];
      if (wrapper !== undefined) {
        let length = 0;
        for (let i = 0; i < parts.length; i++) length += parts[i].length;
        offset = wrapper.writeHeader(out, offset, length, pending[f + 1] as boolean);
      }
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        if (part.length <= COPY_LIMIT) {
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

  watchDrain(): void {
    if (this.drainWatched) return;
    this.drainWatched = true;
    this.socket.once('drain', onDrain);
  }

  /** @internal 'drain' after watchDrain(). */
  drain(): void {
    this.drainWatched = false;
    this.endpoint?.drained();
  }

  get remoteAddress(): string | undefined {
    return (this.socket as Partial<Socket>).remoteAddress;
  }

  get bufferedBytes(): number {
    return this.socket.writableLength + this.pendingBytes;
  }
}
