/**
 * A session's outbound path: write coalescing and the slow-consumer policy.
 *
 * Coalescing: the first frame written in a tick corks the socket and queues a microtask that
 * uncorks it, so every frame a session gets in one tick leaves in one socket write and no timer
 * delay is ever added.
 *
 * Slow consumers: frames go straight to the socket while its unflushed bytes
 * (`connection.bufferedBytes`) stay under `highWaterMark`. Past it, frames wait in a backlog that
 * the socket's 'drain' empties. While a backlog exists the session is *congested*: the broker
 * stops handing it queue messages (they stay in the broker or go to other consumers), so the
 * backlog only grows with topic messages and control frames. When the backlog exceeds `maxBytes`,
 * or a backlog has been waiting longer than `sendTimeLimit`:
 * - policy 'drop-oldest' drops the oldest droppable frames (topic MESSAGEs) until it fits;
 * - otherwise (policy 'close', nothing droppable left, or the time limit) the session is closed
 *   as a slow consumer.
 * Memory per session is therefore bounded by about highWaterMark + maxBytes + one frame.
 */
import type { Delivery } from '../broker/types';
import type { Connection } from './connection';

export type SlowConsumerPolicy = 'close' | 'drop-oldest';

export interface OutboxLimits {
  highWaterMark: number;
  maxBytes: number;
  sendTimeLimit: number;
  policy: SlowConsumerPolicy;
}

export interface OutboxOwner {
  /** Whether this delivery may be dropped under 'drop-oldest' (a topic message, not a queue one). */
  droppable(delivery: Delivery): boolean;
  /** The backlog appeared (true) or drained (false). */
  congestionChanged(congested: boolean): void;
  /** Frames were dropped under the 'drop-oldest' policy. */
  dropped(frames: number, bytes: number): void;
  /** The consumer is too slow: close it. `limit` names the limit that was hit. */
  overflow(limit: 'maxOutboundBytes' | 'sendTimeLimit', detail: string): void;
}

interface Pending {
  parts: readonly Buffer[];
  binary: boolean;
  bytes: number;
  droppable: boolean;
}

/** The backlog of every uncongested outbox (never pushed to: a congested one gets its own array). */
const NO_BACKLOG: Pending[] = [];

export class Outbox {
  /**
   * When the last batch was written: -1 = not timed (the default; the session sets a time when it
   * starts sending heart-beats, which read it), so an idle session keeps no boxed number and a
   * flush reads no clock.
   */
  lastWriteAt = -1;
  private corked = false;
  private backlog = NO_BACKLOG;
  private head = 0;
  private backlogBytes = 0;
  private backlogSince = 0;
  private overflowed = false;

  constructor(
    private readonly connection: Connection,
    private readonly limits: OutboxLimits,
    private readonly owner: OutboxOwner,
  ) {}

  get congested(): boolean {
    return this.head < this.backlog.length;
  }

  /** Bytes waiting in the backlog (not yet handed to the socket). */
  get waitingBytes(): number {
    return this.backlogBytes;
  }

  /** True when frames written now leave in the current tick's batch. */
  get isCorked(): boolean {
    return this.corked;
  }

  /** Writes one frame; `delivery` is set for MESSAGE frames (control frames are never dropped). */
  write(parts: readonly Buffer[], binary: boolean, delivery?: Delivery): void {
    if (this.overflowed) return;
    if (!this.congested && this.connection.bufferedBytes < this.limits.highWaterMark) {
      this.send(parts, binary);
      return;
    }
    let bytes = 0;
    for (let i = 0; i < parts.length; i++) bytes += parts[i].length;
    const first = !this.congested;
    if (this.backlog === NO_BACKLOG) this.backlog = [];
    this.backlog.push({ parts, binary, bytes, droppable: delivery !== undefined && this.owner.droppable(delivery) });
    this.backlogBytes += bytes;
    if (first) {
      this.backlogSince = Date.now();
      this.connection.watchDrain();
      this.owner.congestionChanged(true);
    }
    this.enforceLimits();
  }

  /** The socket flushed: move waiting frames to it while it stays under the high-water mark. */
  drained(): void {
    if (!this.congested || this.overflowed) return;
    const backlog = this.backlog;
    while (this.head < backlog.length && this.connection.bufferedBytes < this.limits.highWaterMark) {
      const item = backlog[this.head];
      backlog[this.head++] = undefined as unknown as Pending;
      this.backlogBytes -= item.bytes;
      this.send(item.parts, item.binary);
    }
    if (this.head === backlog.length) {
      this.backlog = NO_BACKLOG;
      this.head = 0;
      this.backlogBytes = 0;
      this.owner.congestionChanged(false);
    } else {
      this.backlogSince = Date.now();
      this.connection.watchDrain();
    }
  }

  /** Ends the current batch now (before a close, so queued frames precede it). */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    if (this.lastWriteAt !== -1) this.lastWriteAt = Date.now();
    this.connection.uncork();
  }

  /** Forgets everything waiting (the session is closing). */
  discard(): void {
    this.overflowed = true;
    this.backlog = NO_BACKLOG;
    this.head = 0;
    this.backlogBytes = 0;
  }

  private send(parts: readonly Buffer[], binary: boolean): void {
    if (!this.corked) {
      this.corked = true;
      this.connection.cork();
      queueMicrotask(() => this.flush());
    }
    this.connection.sendFrame(parts, binary);
  }

  private enforceLimits(): void {
    const { maxBytes, sendTimeLimit, policy } = this.limits;
    if (sendTimeLimit > 0 && Date.now() - this.backlogSince > sendTimeLimit) {
      this.overflowed = true;
      this.owner.overflow('sendTimeLimit', `nothing could be sent for over ${sendTimeLimit} ms`);
      return;
    }
    if (this.backlogBytes <= maxBytes) return;
    if (policy === 'drop-oldest') {
      let frames = 0;
      let bytes = 0;
      const backlog = this.backlog;
      // Drop droppable frames from the oldest on; keep the rest in order.
      const kept: Pending[] = [];
      let i = this.head;
      for (; i < backlog.length && this.backlogBytes > maxBytes; i++) {
        const item = backlog[i];
        if (item.droppable) {
          frames++;
          bytes += item.bytes;
          this.backlogBytes -= item.bytes;
        } else {
          kept.push(item);
        }
      }
      for (; i < backlog.length; i++) kept.push(backlog[i]);
      this.backlog = kept.length === 0 ? NO_BACKLOG : kept;
      this.head = 0;
      if (frames > 0) this.owner.dropped(frames, bytes);
      if (kept.length === 0) this.owner.congestionChanged(false);
      if (this.backlogBytes <= maxBytes) return;
    }
    this.overflowed = true;
    this.owner.overflow('maxOutboundBytes', `${this.backlogBytes} bytes waiting for a client that does not read (limit ${maxBytes})`);
  }
}
