/**
 * A deliberately simple, independent STOMP test client over a real `ws` WebSocket, or over plain
 * TCP for a `tcp://host:port` URL: it writes raw frame text and parses what arrives with its own
 * small parser (not the library's decoder), so the tests check the wire, not the codec against
 * itself. Over TCP the bytes are a stream: frames are cut out of it as they complete, and every
 * EOL between frames counts as one heart-beat.
 */
import { isUtf8 } from 'node:buffer';
import { connect as netConnect, type Socket } from 'node:net';
import WebSocket from 'ws';

export interface RawFrame {
  command: string;
  headers: Record<string, string>;
  /** All headers in order, repeats included. */
  headerList: Array<[string, string]>;
  body: Buffer;
  /** Whether it arrived in a binary WebSocket message. */
  binary: boolean;
}

export function parseFrames(data: Buffer, binary: boolean): RawFrame[] {
  const frames: RawFrame[] = [];
  let pos = 0;
  while (pos < data.length) {
    // heart-beat EOLs
    if (data[pos] === 0x0a) { pos++; continue; }
    if (data[pos] === 0x0d && data[pos + 1] === 0x0a) { pos += 2; continue; }
    const headerEnd = data.indexOf('\n\n', pos);
    if (headerEnd === -1) throw new Error(`incomplete frame: ${JSON.stringify(data.subarray(pos).toString())}`);
    const lines = data.subarray(pos, headerEnd).toString('utf8').split('\n');
    const command = lines[0];
    const headerList: Array<[string, string]> = [];
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i);
      const value = line.slice(i + 1);
      headerList.push([name, value]);
      if (!(name in headers)) headers[name] = value;
    }
    const bodyStart = headerEnd + 2;
    let bodyEnd: number;
    if (headers['content-length'] !== undefined) {
      bodyEnd = bodyStart + Number(headers['content-length']);
      if (data[bodyEnd] !== 0) throw new Error(`frame not NUL-terminated after content-length`);
    } else {
      bodyEnd = data.indexOf(0, bodyStart);
      if (bodyEnd === -1) throw new Error('frame without NUL');
    }
    frames.push({ command, headers, headerList, body: Buffer.from(data.subarray(bodyStart, bodyEnd)), binary });
    pos = bodyEnd + 1;
  }
  return frames;
}

/**
 * Cuts the complete frames off the front of a byte stream; `rest` is an unfinished frame (or
 * nothing). `heartbeats` counts the EOLs between frames.
 */
export function takeFrames(data: Buffer): { frames: RawFrame[]; heartbeats: number; rest: Buffer } {
  let pos = 0;
  let heartbeats = 0;
  const frames: RawFrame[] = [];
  while (pos < data.length) {
    if (data[pos] === 0x0a) { pos++; heartbeats++; continue; }
    if (data[pos] === 0x0d) {
      if (pos + 1 >= data.length) break;
      if (data[pos + 1] === 0x0a) { pos += 2; heartbeats++; continue; }
    }
    const headerEnd = data.indexOf('\n\n', pos);
    if (headerEnd === -1) break;
    const length = /\ncontent-length:(\d+)\n/.exec(data.subarray(pos, headerEnd + 1).toString('latin1'));
    const end = length !== null ? headerEnd + 2 + Number(length[1]) : data.indexOf(0, headerEnd + 2);
    if (end === -1 || end >= data.length) break;
    frames.push(...parseFrames(data.subarray(pos, end + 1), false));
    pos = end + 1;
  }
  return { frames, heartbeats, rest: data.subarray(pos) };
}

/** A plain TCP connection that looks like the few parts of a `ws` WebSocket RawClient uses. */
class TcpLink {
  private buffer = Buffer.alloc(0);

  constructor(readonly socket: Socket) {}

  onFrames(handler: (frames: RawFrame[], heartbeats: number) => void): void {
    this.socket.on('data', (chunk: Buffer) => {
      const { frames, heartbeats, rest } = takeFrames(this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]));
      this.buffer = Buffer.from(rest);
      handler(frames, heartbeats);
    });
  }

  send(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  close(): void {
    this.socket.end();
  }

  terminate(): void {
    this.socket.destroy();
  }
}

export class RawClient {
  readonly frames: RawFrame[] = [];
  /** WebSocket messages that carried only heart-beat EOLs. */
  heartbeats = 0;
  closed = false;
  closeCode: number | undefined;
  private waiters: Array<() => void> = [];

  /** The WebSocket (undefined over TCP). */
  readonly ws: WebSocket;
  /** The TCP connection (undefined over WebSocket). */
  readonly tcp: TcpLink | undefined;

  private constructor(link: WebSocket | TcpLink) {
    if (link instanceof TcpLink) {
      this.tcp = link;
      this.ws = undefined as unknown as WebSocket;
      link.onFrames((frames, heartbeats) => {
        this.heartbeats += heartbeats;
        this.frames.push(...frames);
        this.wake();
      });
      link.socket.on('close', () => {
        this.closed = true;
        this.wake();
      });
      link.socket.on('error', () => {});
      return;
    }
    const ws = link;
    this.ws = ws;
    this.tcp = undefined;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const parsed = parseFrames(data, isBinary);
      if (parsed.length === 0) this.heartbeats++;
      this.frames.push(...parsed);
      this.wake();
    });
    ws.on('close', (code: number) => {
      this.closed = true;
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => {});
  }

  static async open(url: string, protocols: string[] = ['v12.stomp', 'v11.stomp', 'v10.stomp']): Promise<RawClient> {
    if (url.startsWith('tcp://')) {
      const { hostname, port } = new URL(url);
      const socket = netConnect(Number(port), hostname);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      return new RawClient(new TcpLink(socket));
    }
    const ws = new WebSocket(url, protocols);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
    return client;
  }

  /** A client on an already connected TCP (or TLS) socket. */
  static overSocket(socket: Socket): RawClient {
    return new RawClient(new TcpLink(socket));
  }

  /** Opens and completes CONNECT; returns the client and the CONNECTED frame. */
  static async connect(url: string, headers: Record<string, string> = { 'accept-version': '1.2', host: 'localhost' }): Promise<RawClient> {
    const client = await RawClient.open(url);
    client.send('CONNECT', headers);
    const connected = await client.next();
    if (connected.command !== 'CONNECTED') throw new Error(`expected CONNECTED, got ${connected.command}: ${connected.headers.message}`);
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Sends text exactly as given (one WebSocket message; over TCP, one write). */
  raw(data: string | Buffer, binary = false): void {
    if (this.tcp !== undefined) this.tcp.send(data);
    else this.ws.send(data, { binary });
  }

  send(command: string, headers: Record<string, string> = {}, body: string | Buffer = ''): void {
    const head = command + '\n' + Object.entries(headers).map(([k, v]) => `${k}:${v}\n`).join('') + '\n';
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    // A text WebSocket message must be valid UTF-8, so binary bodies travel in binary messages.
    this.raw(Buffer.concat([Buffer.from(head), bytes, Buffer.from([0])]), !isUtf8(bytes));
  }

  private cursor = 0;

  /** The next frame not yet returned by next(); waits for it. */
  async next(timeoutMs = 3000): Promise<RawFrame> {
    await this.waitFor(() => this.frames.length > this.cursor, timeoutMs, 'a frame');
    return this.frames[this.cursor++];
  }

  /** Waits for the next frame and asserts its command. */
  async expect(command: string, timeoutMs = 3000): Promise<RawFrame> {
    const frame = await this.next(timeoutMs);
    if (frame.command !== command) {
      throw new Error(`expected ${command}, got ${frame.command} ${JSON.stringify(frame.headers)} ${frame.body.toString()}`);
    }
    return frame;
  }

  async waitFor(predicate: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (this.closed && !predicate()) {
        if (what !== 'close') throw new Error(`connection closed while waiting for ${what}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        // Woken by this client's events; the 100 ms re-check also covers predicates that depend
        // on other clients or on server state.
        const timer = setTimeout(resolve, Math.min(remaining, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<number | undefined> {
    await this.waitFor(() => this.closed, timeoutMs, 'close');
    return this.closeCode;
  }

  /** Expects ERROR (its message containing `text`) followed by the server closing the connection. */
  async expectError(text: string | RegExp, timeoutMs = 3000): Promise<RawFrame> {
    const frame = await this.expect('ERROR', timeoutMs);
    const message = frame.headers.message ?? '';
    if (typeof text === 'string' ? !message.includes(text) : !text.test(message)) {
      throw new Error(`ERROR message ${JSON.stringify(message)} does not match ${String(text)}`);
    }
    await this.waitClosed(timeoutMs);
    return frame;
  }

  close(): void {
    if (this.tcp !== undefined) this.tcp.close();
    else this.ws.close();
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    if (this.tcp !== undefined) this.tcp.terminate();
    else this.ws.terminate();
  }
}
