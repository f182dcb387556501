/**
 * Shared by the fuzz, conformance and teardown suites: leak accounting (timers, registry counts),
 * a logger that records what the server complained about, waiting on the broker's 'disconnect'
 * events, and a raw WebSocket client (manual HTTP upgrade on a net.Socket, frames built by hand)
 * for the input `ws` itself would never produce.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { Logger } from '../../src/logger';
import type { StompBroker } from '../../src';
import type { CloseReason, StompSession } from '../../src/session/stomp-session';
import type { BrokerOptions } from '../../src/options';
import { RawClient } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';

// ---- timers --------------------------------------------------------------------------------------

interface TrackedTimer {
  timer: NodeJS.Timeout;
  /** Where it was created; formatted only when a leak is reported. */
  site: Error;
}

/**
 * Records every timer created through the global setTimeout / setInterval while installed: the
 * library and `ws` run in the same module context as the test, so theirs are included, unref'd
 * ones too (which `process.getActiveResourcesInfo()` does not list). A timer is live until it is
 * cleared or, for a timeout, has fired (Node marks both as `_destroyed`).
 */
export class TimerTracker {
  private readonly timers = new Set<TrackedTimer>();
  private readonly originals = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval };

  install(): void {
    const timers = this.timers;
    const wrap = <F extends (...args: any[]) => NodeJS.Timeout>(original: F): F => {
      const wrapped = function (this: unknown, ...args: unknown[]): NodeJS.Timeout {
        const timer = original.apply(this, args as Parameters<F>);
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 5;
        timers.add({ timer, site: new Error('timer created here') });
        Error.stackTraceLimit = limit;
        return timer;
      };
      return Object.assign(wrapped, original) as unknown as F;
    };
    globalThis.setTimeout = wrap(this.originals.setTimeout as any) as typeof setTimeout;
    globalThis.setInterval = wrap(this.originals.setInterval as any) as typeof setInterval;
  }

  uninstall(): void {
    globalThis.setTimeout = this.originals.setTimeout;
    globalThis.setInterval = this.originals.setInterval;
  }

  /** Forget everything created so far (e.g. timers of sessions that stay open on purpose). */
  reset(): void {
    this.timers.clear();
  }

  /** Creation sites of timers still scheduled. */
  live(): string[] {
    const out: string[] = [];
    for (const entry of this.timers) {
      if ((entry.timer as unknown as { _destroyed: boolean })._destroyed) this.timers.delete(entry);
      else out.push((entry.site.stack ?? '').split('\n').slice(2, 6).join(' | '));
    }
    return out;
  }
}

// ---- logging -------------------------------------------------------------------------------------

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: unknown;
  msg?: string;
}

/** A Logger that keeps warn and error entries: a server that had to log an error has a bug to show. */
export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  debug(): void {}
  info(): void {}
  warn(obj: unknown, msg?: string): void {
    this.entries.push({ level: 'warn', obj, msg });
  }
  error(obj: unknown, msg?: string): void {
    this.entries.push({ level: 'error', obj, msg });
  }
  errors(): string[] {
    return this.entries
      .filter((e) => e.level === 'error')
      .map((e) => {
        const err = (e.obj as { err?: unknown })?.err;
        return `${e.msg}: ${err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(e.obj)}`;
      });
  }
}

// ---- registry ------------------------------------------------------------------------------------

export interface RegistryCounts {
  sessions: number;
  subscriptions: number;
  unacked: number;
}

export function registryCounts(broker: StompBroker): RegistryCounts {
  const stats = broker.stats();
  return { sessions: broker.sessions.size, subscriptions: stats.subscriptions, unacked: stats.unacked };
}

/**
 * Resolves once the broker holds exactly `count` sessions, re-checking on every 'disconnect'
 * event (fired after a session's state was released). Rejects after `timeoutMs` with the counts.
 */
export function untilSessions(broker: StompBroker, count: number, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (broker.sessions.size !== count) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`expected ${count} sessions, still ${broker.sessions.size} after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      broker.off('disconnect', check);
    };
    broker.on('disconnect', check);
    check();
  });
}

/** Resolves with the next 'disconnect' of any session. */
export function nextDisconnect(broker: StompBroker, timeoutMs = 5000): Promise<[StompSession, CloseReason]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      broker.off('disconnect', onDisconnect);
      reject(new Error(`no session disconnected within ${timeoutMs} ms`));
    }, timeoutMs);
    const onDisconnect = (session: StompSession, reason: CloseReason): void => {
      clearTimeout(timer);
      broker.off('disconnect', onDisconnect);
      resolve([session, reason]);
    };
    broker.on('disconnect', onDisconnect);
  });
}

// ---- raw WebSocket -------------------------------------------------------------------------------

export const OP = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface WsFrameOptions {
  opcode?: number;
  fin?: boolean;
  /** RSV1..3 as a 3-bit number (RSV1 = 4, RSV2 = 2, RSV3 = 1). */
  rsv?: number;
  /** Clients must mask (RFC 6455 §5.1); false writes an unmasked client frame. Default true. */
  mask?: boolean;
  /** Length to announce instead of the payload's real length. */
  announcedLength?: number;
}

/** One WebSocket frame built by hand (RFC 6455 §5.2), valid or not. */
export function wsFrame(payload: Buffer, options: WsFrameOptions = {}): Buffer {
  const { opcode = OP.BINARY, fin = true, rsv = 0, mask = true } = options;
  const length = options.announcedLength ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = BigInt(length);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, masked]);
}

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/**
 * A WebSocket connection on a bare net.Socket: the upgrade request is written by hand, and frames
 * from the server (unmasked) are parsed here, so tests can send anything at all.
 */
export class RawWebSocket {
  readonly frames: ServerFrame[] = [];
  ended = false;
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Connects and completes the upgrade handshake; rejects unless the server answers 101. */
  static async open(port: number, path = '/ws', protocol = 'v12.stomp'): Promise<RawWebSocket> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
    );
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        const status = head.subarray(0, head.indexOf('\r\n')).toString();
        if (!status.startsWith('HTTP/1.1 101')) reject(new Error(`upgrade refused: ${status}`));
        else resolve(head.subarray(end + 4));
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
    const ws = new RawWebSocket(socket);
    if (rest.length > 0) socket.emit('data', rest);
    return ws;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends one STOMP text (or binary) message as a single, well-formed masked frame. */
  send(text: string | Buffer, opcode: number = OP.TEXT): void {
    this.write(wsFrame(Buffer.isBuffer(text) ? text : Buffer.from(text), { opcode }));
  }

  /** STOMP frames received so far: the text of every data frame. */
  messages(): string[] {
    return this.frames.filter((f) => f.opcode === OP.TEXT || f.opcode === OP.BINARY).map((f) => f.payload.toString());
  }

  /** The close frame's status code, once one arrived. */
  closeCode(): number | undefined {
    const close = this.frames.find((f) => f.opcode === OP.CLOSE);
    return close === undefined ? undefined : close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
  }

  async waitFor(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}`);
      if (this.ended && !predicate()) throw new Error(`socket closed while waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the server's close frame and the TCP close; returns the close code. */
  async closed(timeoutMs = 3000): Promise<number | undefined> {
    await this.waitFor(() => this.ended || this.closeCode() !== undefined, 'close', timeoutMs);
    if (!this.ended) {
      // Answer the close handshake as a client would, then wait for the server to end TCP.
      this.socket.end(wsFrame(Buffer.alloc(0), { opcode: OP.CLOSE }));
      await this.waitFor(() => this.ended, 'TCP close', timeoutMs);
    }
    return this.closeCode();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private parse(): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let length = b[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      this.frames.push({ opcode: b[0] & 0x0f, payload: Buffer.from(b.subarray(offset, offset + length)) });
      this.buffer = b.subarray(offset + length);
    }
  }
}

/**
 * A fresh server per test whose teardown proves the test left nothing behind: every client and raw
 * socket it tracked is closed, then sessions, subscriptions and unacked deliveries are back to zero,
 * nothing was logged as an error, and no timer is still alive. Registers its own beforeEach/afterEach.
 */
export class LeakCheckedServer {
  server!: TestServer;
  logger!: RecordingLogger;
  readonly timers = new TimerTracker();
  readonly clients: RawClient[] = [];
  readonly sockets: RawWebSocket[] = [];

  constructor(private readonly defaults: Parameters<typeof startServer>[0]) {
    beforeEach(async () => {
      this.timers.install();
      await this.start();
    });
    afterEach(() => this.teardown());
  }

  async start(options: BrokerOptions = {}): Promise<void> {
    this.logger = new RecordingLogger();
    this.server = await startServer({ ...this.defaults, logger: this.logger, ...options });
  }

  /** Restarts the server with other options (the current one has no sessions yet). */
  async restart(options: BrokerOptions): Promise<void> {
    await this.server.close();
    await this.start(options);
  }

  async open(): Promise<RawClient> {
    return this.track(await RawClient.open(this.server.url));
  }

  async connect(headers: Record<string, string> = {}): Promise<RawClient> {
    return this.track(await RawClient.connect(this.server.url, { 'accept-version': '1.2', host: 'localhost', ...headers }));
  }

  track(client: RawClient): RawClient {
    this.clients.push(client);
    return client;
  }

  private async teardown(): Promise<void> {
    try {
      const closing = this.clients.splice(0);
      for (const c of closing) if (!c.closed) c.close();
      for (const s of this.sockets.splice(0)) s.destroy();
      await Promise.all(closing.map((c) => c.waitClosed()));
      await untilSessions(this.server.broker, 0);
      expect(registryCounts(this.server.broker)).toEqual({ sessions: 0, subscriptions: 0, unacked: 0 });
      expect(this.logger.errors()).toEqual([]);
    } finally {
      await this.server.close();
      this.timers.uninstall();
    }
    expect(this.timers.live()).toEqual([]);
    this.timers.reset();
  }
}
