/**
 * One STOMP 1.2 connection over TCP to RabbitMQ's STOMP plugin, spoken with our own codec
 * (Decoder in, encodeFrame out): connect, heart-beats, receipts, reconnect.
 *
 * States: 'connecting' → 'connected' → 'down' (lost; a reconnect is scheduled) → 'connecting' …,
 * and 'closed' (close() was called; final). Only a 'connected' connection accepts frames.
 *
 * - Receipts: {@link RelayConnection.request} adds a `receipt` header and resolves when RabbitMQ's
 *   RECEIPT arrives (for SEND, RabbitMQ answers after its publisher confirm: the message is taken).
 *   An ERROR carrying that `receipt-id` rejects it; losing the connection rejects every request in
 *   flight with STOMP_ERR_BROKER_UNAVAILABLE. The time a receipt took is the round trip reported
 *   in stats.
 * - Writes made in one tick leave in one socket write (cork until the next tick).
 * - Heart-beats: we offer `heartbeat` [cx, cy]; after CONNECTED we send an EOL when we wrote
 *   nothing for the negotiated interval, and drop the connection when RabbitMQ is silent for twice
 *   its interval (then reconnect).
 * - Reconnect: exponential backoff from `reconnectDelay` up to `maxReconnectDelay`, each delay
 *   with jitter (between half and all of it), reset once a connection reaches CONNECTED.
 * - RabbitMQ's ERROR frames without a receipt-id are logged; most are not fatal there (the
 *   connection stays open); those that are end in a socket close, which is handled as a loss.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { Decoder } from '../codec/decoder';
import { encodeFrame } from '../codec/encoder';
import { header, type Frame, type HeaderList } from '../codec/frame';
import { StompError } from '../errors';
import type { Logger } from '../logger';

export interface RelayConnectionOptions {
  host: string;
  port: number;
  login: string;
  passcode: string;
  virtualHost: string;
  heartbeat: [number, number];
  connectTimeout: number;
  reconnectDelay: number;
  maxReconnectDelay: number;
  maxFrameBytes: number;
  logger: Logger;
}

export type RelayConnectionState = 'connecting' | 'connected' | 'down' | 'closed';

export interface RelayConnectionEvents {
  /** CONNECTED received (first time and after every reconnect). */
  up: [];
  /** The connection was lost (or a connect attempt failed); `reason` says why. */
  down: [reason: string];
  /** A MESSAGE frame. */
  message: [frame: Frame];
  /** An ERROR naming no receipt: RabbitMQ refused a frame (and closes the connection when it was a channel error). */
  refused: [message: string, detail: string];
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
  sentAt: number;
}

export function unavailable(detail: string): StompError {
  return new StompError('STOMP_ERR_BROKER_UNAVAILABLE', `message broker unavailable: ${detail}`);
}

export class RelayConnection extends EventEmitter<RelayConnectionEvents> {
  state: RelayConnectionState = 'connecting';
  /** Times a connection reached CONNECTED after the first. */
  reconnects = 0;
  /** Round trip of the last receipt, ms (-1 before the first). */
  roundTrip = -1;
  /** Whether any attempt has failed or a connection was lost (false while the very first attempt runs). */
  everFailed = false;
  /** The last reason the connection went down. */
  lastError: string | undefined;

  private socket: Socket | undefined;
  private decoder: Decoder | undefined;
  private readonly pending = new Map<string, Pending>();
  private receiptCounter = 0;
  private attempts = 0;
  private connectedOnce = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private receiveTimer: NodeJS.Timeout | undefined;
  private lastWrite = 0;
  private lastRead = 0;
  private corked = false;

  constructor(
    readonly name: string,
    private readonly options: RelayConnectionOptions,
  ) {
    super();
  }

  /** The local TCP port of the current socket (to find this connection in `rabbitmqctl list_connections`). */
  get localPort(): number | undefined {
    return this.socket?.localPort;
  }

  get isUp(): boolean {
    return this.state === 'connected';
  }

  start(): void {
    this.open();
  }

  /** Sends a frame (no receipt). Throws STOMP_ERR_BROKER_UNAVAILABLE unless connected. */
  send(command: string, headers: HeaderList, body?: Buffer): void {
    if (this.state !== 'connected') throw unavailable(`the connection to RabbitMQ is ${this.state}`);
    this.write(encodeFrame({ command, headers, body: body ?? EMPTY }, '1.2'));
  }

  /** Sends a frame with a receipt; resolves when RabbitMQ's RECEIPT arrives. */
  request(command: string, headers: HeaderList, body?: Buffer): Promise<void> {
    if (this.state !== 'connected') return Promise.reject(unavailable(`the connection to RabbitMQ is ${this.state}`));
    const id = `${this.name}-${(++this.receiptCounter).toString(36)}`;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sentAt: performance.now() });
      this.write(encodeFrame({ command, headers: [...headers, ['receipt', id]], body: body ?? EMPTY }, '1.2'));
    });
  }

  /**
   * True while more than {@link HIGH_WATER_MARK} bytes wait to be written to RabbitMQ (RabbitMQ
   * applies flow control by reading slower): publishers should wait for {@link drained}.
   */
  get congested(): boolean {
    return (this.socket?.writableLength ?? 0) > HIGH_WATER_MARK;
  }

  /** Resolves once the socket's write buffer drained (or the connection was lost). */
  drained(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || !this.congested) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /** DISCONNECT politely, then close for good. */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    const socket = this.socket;
    const wasUp = this.state === 'connected';
    this.state = 'closed';
    this.clearTimers();
    this.failPending('the relay is closing');
    if (socket === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 1000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (wasUp) {
        socket.end(encodeFrame({ command: 'DISCONNECT', headers: [], body: EMPTY }, '1.2'));
      } else socket.destroy();
    });
  }

  // ---- connection lifecycle ----------------------------------------------------------------------

  private open(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const { host, port } = this.options;
    const socket = netConnect({ host, port });
    socket.setNoDelay(true);
    this.socket = socket;
    this.decoder = new Decoder(
      {
        frame: (frame) => this.onFrame(frame),
        heartbeat: () => undefined,
      },
      { maxFrameBytes: this.options.maxFrameBytes, maxHeaders: 1000, maxHeaderBytes: this.options.maxFrameBytes },
    );
    this.connectTimer = setTimeout(() => this.lost(socket, `no CONNECTED from ${host}:${port} within ${this.options.connectTimeout} ms`), this.options.connectTimeout);
    socket.on('connect', () => {
      const [cx, cy] = this.options.heartbeat;
      const headers: HeaderList = [
        ['accept-version', '1.2'],
        ['host', this.options.virtualHost],
        ['login', this.options.login],
        ['passcode', this.options.passcode],
        ['heart-beat', `${cx},${cy}`],
      ];
      socket.write(encodeFrame({ command: 'CONNECT', headers, body: EMPTY }, '1.2'));
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.lastRead = Date.now();
      try {
        this.decoder!.push(chunk);
      } catch (err) {
        this.lost(socket, `unreadable data from RabbitMQ: ${(err as Error).message}`);
      }
    });
    socket.on('error', (err) => this.lost(socket, err.message));
    socket.on('close', () => this.lost(socket, 'connection closed by RabbitMQ'));
  }

  private onFrame(frame: Frame): void {
    switch (frame.command) {
      case 'MESSAGE':
        this.emit('message', frame);
        return;
      case 'RECEIPT': {
        const id = header(frame, 'receipt-id');
        const pending = id === undefined ? undefined : this.pending.get(id);
        if (pending === undefined) return;
        this.pending.delete(id!);
        this.roundTrip = performance.now() - pending.sentAt;
        pending.resolve();
        return;
      }
      case 'CONNECTED':
        this.connected(frame);
        return;
      case 'ERROR': {
        const message = header(frame, 'message') ?? 'ERROR';
        const detail = frame.body.toString('utf8');
        const id = header(frame, 'receipt-id');
        const pending = id === undefined ? undefined : this.pending.get(id);
        if (pending !== undefined) {
          this.pending.delete(id!);
          pending.reject(new StompError('STOMP_ERR_BROKER_UNAVAILABLE', `RabbitMQ refused: ${message}`, { details: detail }));
        } else {
          this.options.logger.warn({ connection: this.name, message, detail }, 'RabbitMQ sent ERROR');
          this.emit('refused', message, detail);
        }
        if (this.state === 'connecting') this.lost(this.socket!, `RabbitMQ refused the connection: ${message}`);
        return;
      }
      default:
        return;
    }
  }

  private connected(frame: Frame): void {
    if (this.state !== 'connecting') return;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.state = 'connected';
    this.attempts = 0;
    if (this.connectedOnce) this.reconnects++;
    this.connectedOnce = true;
    this.lastRead = this.lastWrite = Date.now();
    // heart-beat negotiation (STOMP 1.2 §Heart-beating): we send every max(cx, sy), expect every max(cy, sx).
    const [cx, cy] = this.options.heartbeat;
    const [sx, sy] = (header(frame, 'heart-beat') ?? '0,0').split(',').map((n) => Number(n) || 0);
    if (cx > 0 && sy > 0) {
      const every = Math.max(cx, sy);
      this.sendTimer = setInterval(() => {
        if (Date.now() - this.lastWrite >= every / 2) this.write(NEWLINE);
      }, every / 2);
      this.sendTimer.unref();
    }
    if (cy > 0 && sx > 0) {
      const every = Math.max(cy, sx);
      this.receiveTimer = setInterval(() => {
        if (Date.now() - this.lastRead > every * 2 && this.socket !== undefined) this.lost(this.socket, `RabbitMQ silent for more than ${every * 2} ms`);
      }, every);
      this.receiveTimer.unref();
    }
    this.emit('up');
  }

  private lost(socket: Socket, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    socket.destroy();
    this.clearTimers();
    if (this.state === 'closed') return;
    this.everFailed = true;
    this.lastError = reason;
    this.state = 'down';
    this.failPending(reason);
    this.options.logger.warn({ connection: this.name, reason }, 'relay connection to RabbitMQ lost; reconnecting');
    this.emit('down', reason);
    if (this.state !== 'down') return;
    const base = Math.min(this.options.maxReconnectDelay, this.options.reconnectDelay * 2 ** this.attempts);
    this.attempts++;
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, delay);
  }

  private failPending(reason: string): void {
    if (this.pending.size === 0) return;
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) p.reject(unavailable(reason));
  }

  private clearTimers(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.sendTimer);
    clearInterval(this.receiveTimer);
    this.connectTimer = this.retryTimer = this.sendTimer = this.receiveTimer = undefined;
  }

  private write(data: Buffer): void {
    const socket = this.socket!;
    this.lastWrite = Date.now();
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(data);
  }
}

const EMPTY = Buffer.alloc(0);
/** Bytes waiting on a relay socket above which publishers wait for it to drain. */
const HIGH_WATER_MARK = 4 * 1024 * 1024;
const NEWLINE = Buffer.from('\n');
