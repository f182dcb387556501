/**
 * STOMP over SockJS (Spring's `withSockJS()`), on the `sockjs` package: it owns the SockJS
 * protocol — the URL layout (`<path>/info`, `<path>/iframe.html`, `<path>/<server>/<session>/<transport>`,
 * raw WebSocket at `<path>/websocket`), its transports (websocket, xhr-streaming, xhr-polling,
 * eventsource, htmlfile), its framing and its own heart-beat ('h' frames). This file only puts a
 * gate in front of it and turns each SockJS connection into a `Connection` for a `StompSession`.
 *
 * The gate, per HTTP request or upgrade under `path`, in order:
 * 1. Closed broker → 503. JSONP (`/jsonp`, `/jsonp_send`) → 404: a `<script>` include carries the
 *    victim's cookies and sends no Origin, so it cannot be origin-checked (Spring dropped it too).
 * 2. Origin check on every request (`/info` and the iframe page included). The iframe page cannot
 *    know who embeds it, so like Spring it is 404 when `allowedOrigins` lists origins, served with
 *    `X-Frame-Options: SAMEORIGIN` under the same-origin default, and served as is with '*'.
 * 3. A later request of a session whose opening request had a principal, made with another
 *    principal (a session id is in every URL) → 403.
 * 4. A POST body over `maxMessageBytes` → 413 (sockjs buffers bodies without a limit), and the
 *    session it was for is closed (1009), as ws does with an oversized WebSocket message.
 * 5. A request that opens a SockJS session (a receiving transport for a session id not seen
 *    before, or the raw WebSocket) runs the handshake pipeline — the interceptors (`handshake.run`)
 *    after the framework auth the adapter already ran — and its principal and attributes are kept
 *    for the session sockjs is about to create. Later requests of the session (xhr_send, the next
 *    poll) run the origin check and framework auth again, never the interceptors: the principal
 *    sticks to the session. The raw WebSocket, once accepted, is not handed to sockjs: the host
 *    upgrades it with its own WebSocket server (`upgradeWebSocket`), because sockjs's raw
 *    WebSocket answers without a sub-protocol, which a client offering `v12.stomp` refuses.
 *
 * sockjs announces a session with 'connection' on a later tick, without the request. The pending
 * handshake is found by the TCP connection it came on (remote address and port, local port):
 * sockjs registers a session synchronously while handling its first request and announces it
 * before that socket can carry another request (HTTP) or after it was upgraded (WebSocket).
 *
 * Writes: one STOMP frame per SockJS message (sockjs batches what waits between two polls into
 * one `a[...]` frame itself). SockJS carries text only, so the connection says `textOnly` and the
 * session turns a MESSAGE whose body is not UTF-8 into base64 (session/binary.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger';
import type { Principal } from '../options';
import { CloseCode, type Connection, type ConnectionEndpoint } from '../session/connection';
import type { Handshake, HandshakeResult } from './handshake';
import { writeRejection } from './handshake';
import { requestPath } from './websocket';

export interface SockJsOptions {
  /** URL path prefix SockJS clients connect to (`new SockJS('http://host/sockjs')`). Default '/sockjs'. */
  path?: string;
  /** ms between SockJS 'h' heart-beat frames on an idle receiving request (keeps proxies and xhr-streaming open). Default 25000. */
  heartbeatDelay?: number;
  /** ms a session survives without a receiving request (between two polls, or after the client left) before it ends. Default 5000. */
  disconnectDelay?: number;
  /** Bytes an xhr-streaming / eventsource response carries before the client is made to open a new one. Default 131072. */
  responseLimit?: number;
  /** Offer the websocket transport (and raw WebSocket at `<path>/websocket`). Default true. */
  websocket?: boolean;
  /**
   * Script URL of the sockjs-client bundle the iframe page (`<path>/iframe.html`, used by the
   * iframe-based fallbacks of old browsers) loads. Default: sockjs's own, a public CDN — serve the
   * bundle yourself and point here when clients have no internet.
   */
  clientScriptUrl?: string;
  /**
   * Largest SockJS POST body (xhr_send) and WebSocket message accepted, bytes: a SockJS message is a
   * JSON string, so escaping may double a frame. Default twice the frame limit plus 16 KiB.
   */
  maxMessageBytes?: number;
}

/** What the endpoint needs from the broker (kept narrow: no import of stomp-broker.ts). */
export interface SockJsHost {
  readonly handshake: Handshake;
  readonly logger: Logger;
  /** False once the broker is closing: new requests get 503. */
  readonly accepting: boolean;
  /** Starts a STOMP session on `connection`, then runs the interceptors' `after` hooks with `req`. */
  openConnection(connection: Connection, req: IncomingMessage, init: SockJsSessionInit): void;
  /**
   * Completes an accepted raw WebSocket upgrade (`<path>/websocket`) as STOMP over WebSocket, with
   * the STOMP sub-protocol negotiated: sockjs answers raw upgrades without any sub-protocol, which
   * a client offering `v12.stomp` (@stomp/stompjs's default, browsers) must refuse.
   */
  upgradeWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, init: SockJsSessionInit): void;
}

export interface SockJsSessionInit {
  user: Principal | undefined;
  attributes: Map<string, unknown> | undefined;
  origin: string | undefined;
}

/** How the adapter already identified the client (framework auth). */
export interface SockJsRequestInit {
  /**
   * The framework's principal for this request. On the request that opens a session it becomes
   * the session's (interceptors may change it); on a later request of a session opened by a
   * principal, a different principal is refused (403).
   */
  user?: Principal;
  attributes?: Map<string, unknown>;
}

/** SockJS receiving transports: a request of one of these opens the session when its id is new. */
const RECEIVING = new Set(['websocket', 'xhr', 'xhr_streaming', 'eventsource', 'htmlfile']);
const JSONP = new Set(['jsonp', 'jsonp_send']);

type Route =
  | { kind: 'session'; id: string; transport: string }
  | { kind: 'raw-websocket' }
  | { kind: 'iframe' }
  | { kind: 'other' };

interface Pending {
  req: IncomingMessage;
  result: Extract<HandshakeResult, { accepted: true }>;
  /** Forgets the entry if its socket closes before sockjs announces the session. */
  forget: () => void;
}

type SockJsHandler = (req: IncomingMessage, res: ServerResponse | Duplex, head?: Buffer) => boolean;

/**
 * The parts of sockjs (0.3.x, plain JavaScript) used here, typed locally so that neither this
 * package nor its users need a type package for it.
 */
interface SockJsServerShape {
  on(event: 'connection', listener: (conn: SockJsConn) => void): unknown;
  /** A request/upgrade handler for one prefix; returns false for a URL outside it. */
  listener(options: { prefix: string }): { getHandler(): SockJsHandler };
}

/** A sockjs connection (sockjs's README: "connection" object). */
export interface SockJsConn {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The local address of the socket the session was opened on. */
  readonly address: { port?: number } | undefined;
  readonly url: string;
  /** The SockJS transport: 'websocket', 'websocket-raw', 'xhr-streaming', 'xhr-polling', 'eventsource', 'htmlfile'. */
  readonly protocol: string;
  write(text: string): boolean;
  close(code?: number, reason?: string): boolean;
  on(event: 'data', listener: (data: string | Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** Loaded on first use: a broker without SockJS never loads sockjs and its WebSocket library. */
function createSockJsServer(options: Record<string, unknown>): unknown {
  return (require('sockjs') as { createServer(options: Record<string, unknown>): unknown }).createServer(options);
}

export class SockJsEndpoint {
  readonly path: string;
  readonly maxMessageBytes: number;
  private readonly handler: SockJsHandler;
  private readonly host: SockJsHost;
  private readonly framePolicy: 'any' | 'same-origin' | 'none';
  /** Handshakes accepted for a session sockjs has not announced yet, by TCP connection. */
  private readonly pending = new Map<string, Pending>();
  /** SockJS session ids ('<server>/<session>') of live sessions, with their connection. */
  private readonly live = new Map<string, SockJsConnection>();
  /** The principal name the framework established on a live session's first request, by session id. */
  private readonly owners = new Map<string, string>();

  constructor(host: SockJsHost, options: SockJsOptions & { maxMessageBytes: number }) {
    const path = options.path ?? '/sockjs';
    if (typeof path !== 'string' || !path.startsWith('/') || path.endsWith('/')) {
      throw new TypeError(`sockjs path must start with '/' and not end with one, got ${String(path)}`);
    }
    this.path = path;
    this.host = host;
    this.maxMessageBytes = options.maxMessageBytes;
    this.framePolicy = host.handshake.framePolicy;
    const logger = host.logger;
    const server = createSockJsServer({
      prefix: path,
      heartbeat_delay: options.heartbeatDelay ?? 25_000,
      disconnect_delay: options.disconnectDelay ?? 5_000,
      response_limit: options.responseLimit ?? 128 * 1024,
      websocket: options.websocket ?? true,
      ...(options.clientScriptUrl !== undefined ? { sockjs_url: options.clientScriptUrl } : {}),
      // faye-websocket's own limit on one WebSocket message (it answers 1009 past it).
      faye_server_options: { maxLength: this.maxMessageBytes },
      log: (severity: string, line: string) => {
        if (severity === 'error') logger.error({ sockjs: line }, 'sockjs error');
      },
    }) as SockJsServerShape;
    // sockjs puts the prefix in a regular expression: escape it.
    this.handler = server.listener({ prefix: path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') }).getHandler();
    server.on('connection', (conn) => this.connected(conn));
  }

  /** Whether `req` is for this endpoint: `path` itself or anything under it. */
  matches(req: IncomingMessage): boolean {
    const p = requestPath(req);
    return p === this.path || (p.startsWith(this.path) && p.charCodeAt(this.path.length) === 47 /* '/' */);
  }

  /** Whether an upgrade under `path` is one of SockJS's WebSocket URLs. */
  isUpgradePath(req: IncomingMessage): boolean {
    const route = this.route(req);
    return route.kind === 'raw-websocket' || (route.kind === 'session' && route.transport === 'websocket');
  }

  /**
   * Whether the request opens a SockJS session (and so runs the handshake interceptors): adapters
   * use it to resolve the principal only when it counts.
   */
  opensSession(req: IncomingMessage): boolean {
    const route = this.route(req);
    if (route.kind === 'raw-websocket') return true;
    return route.kind === 'session' && RECEIVING.has(route.transport) && !this.live.has(route.id);
  }

  /** An HTTP request under `path` (after the adapter's framework auth, if any). */
  handleRequest(req: IncomingMessage, res: ServerResponse, init: SockJsRequestInit = {}): void {
    const refusal = this.gate(req, init);
    if (refusal !== undefined) {
      answer(res, refusal.status, refusal.reason);
      return;
    }
    if (this.route(req).kind === 'iframe' && this.framePolicy === 'same-origin') res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    if (!this.limitBody(req, res)) return;
    this.dispatch(req, init, res, undefined, undefined);
  }

  /** An upgrade under `path` (after the adapter's framework auth, if any). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, init: SockJsRequestInit = {}): void {
    const refusal = this.gate(req, init);
    if (refusal !== undefined) {
      writeRejection(socket, refusal.status, refusal.reason);
      return;
    }
    this.dispatch(req, init, undefined, socket, head);
  }

  /**
   * Ends every SockJS session now, lingering ones included (the broker closed their STOMP sessions
   * first), so no sockjs timer outlives the broker.
   */
  destroy(): void {
    for (const connection of [...this.live.values()]) connection.end();
    this.live.clear();
    this.owners.clear();
    this.pending.clear();
  }

  /** Removes and returns the pending handshake of a TCP connection, releasing its socket listener. */
  private takePending(key: string): Pending | undefined {
    const pending = this.pending.get(key);
    if (pending === undefined) return undefined;
    this.pending.delete(key);
    pending.req.socket.off('close', pending.forget);
    return pending;
  }

  private route(req: IncomingMessage): Route {
    const rest = requestPath(req).slice(this.path.length);
    if (rest === '/websocket' || rest === '/websocket/') return { kind: 'raw-websocket' };
    if (/^\/iframe[0-9-.a-z_]*\.html$/.test(rest)) return { kind: 'iframe' };
    const m = /^\/([^/.]+)\/([^/.]+)\/([a-z_]+)\/?$/.exec(rest);
    if (m !== null) return { kind: 'session', id: `${m[1]}/${m[2]}`, transport: m[3] };
    return { kind: 'other' };
  }

  /** Steps 1–3 of the gate (see the file comment); undefined lets the request on. */
  private gate(req: IncomingMessage, init: SockJsRequestInit): { status: number; reason: string } | undefined {
    if (!this.host.accepting) return { status: 503, reason: 'server shutting down' };
    const route = this.route(req);
    if (route.kind === 'session' && JSONP.has(route.transport)) return { status: 404, reason: 'JSONP transport disabled' };
    // A SockJS session id travels in URLs: a later request of it from another signed-in user
    // (who learnt the id) must not read or write that session.
    if (route.kind === 'session' && init.user !== undefined) {
      const owner = this.owners.get(route.id);
      if (owner !== undefined && owner !== init.user.name) return { status: 403, reason: 'this SockJS session belongs to another user' };
    }
    if (route.kind === 'iframe' && this.framePolicy === 'none') return { status: 404, reason: 'iframe transports are disabled when allowedOrigins lists origins' };
    const refused = this.host.handshake.checkOrigin(req);
    if (refused !== undefined) return { status: refused.status, reason: refused.reason ?? 'Forbidden' };
    return undefined;
  }

  /** Step 4: refuses a POST body over maxMessageBytes; false when it answered. */
  private limitBody(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return true;
    const limit = this.maxMessageBytes;
    const tooLarge = (): void => {
      const route = this.route(req);
      if (route.kind === 'session') this.live.get(route.id)?.tooLarge();
      answer(res, 413, `SockJS message over ${limit} bytes`);
      req.resume();
    };
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      tooLarge();
      return false;
    }
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit && !res.headersSent) {
        tooLarge();
        req.destroy();
      }
    });
    return true;
  }

  /** Step 5, then hands the request to sockjs. */
  private dispatch(req: IncomingMessage, init: SockJsRequestInit, res: ServerResponse | undefined, socket: Duplex | undefined, head: Buffer | undefined): void {
    const hand = (): void => {
      if (res !== undefined) this.handler(req, res);
      else this.handler(req, socket!, head);
    };
    if (!this.opensSession(req)) {
      hand();
      return;
    }
    // Guard a raw upgrade socket while the (possibly async) interceptors run.
    socket?.on('error', destroyOnError);
    this.host.handshake.run(req, init).then(
      (result) => {
        socket?.off('error', destroyOnError);
        const gone = socket !== undefined ? socket.destroyed : res!.destroyed || res!.writableEnded;
        if (gone) return;
        if (!result.accepted) return refuse(result.status, result.reason);
        if (!this.host.accepting) return refuse(503, 'server shutting down');
        if (socket !== undefined && this.route(req).kind === 'raw-websocket') {
          const origin = req.headers.origin;
          this.host.upgradeWebSocket(req, socket, head!, { user: result.user, attributes: result.attributes, origin: typeof origin === 'string' ? origin : undefined });
          return;
        }
        const key = socketKey(req.socket);
        if (key === undefined) return refuse(400, 'Bad Request');
        const forget = (): void => {
          if (this.pending.get(key)?.req === req) this.pending.delete(key);
        };
        this.takePending(key);
        this.pending.set(key, { req, result, forget });
        req.socket.once('close', forget);
        hand();
      },
      (err: unknown) => {
        socket?.off('error', destroyOnError);
        this.host.logger.error({ err, url: req.url }, 'sockjs handshake failed');
        refuse(500, STATUS_CODES[500]!);
      },
    );
    function refuse(status: number, reason: string): void {
      if (res !== undefined) answer(res, status, reason);
      else writeRejection(socket!, status, reason);
    }
  }

  /** sockjs announced a session: start its STOMP session with the handshake that opened it. */
  private connected(conn: SockJsConn): void {
    const key = `${conn.remoteAddress}|${conn.remotePort}|${conn.address?.port}`;
    const pending = this.takePending(key);
    if (pending === undefined) {
      // Every session-opening request passes the gate first; reaching here would be a bug.
      this.host.logger.error({ url: conn.url }, 'sockjs session without an accepted handshake; closing it');
      conn.close(CloseCode.POLICY_VIOLATION, 'no handshake');
      return;
    }
    const route = this.route(pending.req);
    const connection = new SockJsConnection(conn, this.maxMessageBytes * 4);
    if (route.kind === 'session') {
      const id = route.id;
      this.live.set(id, connection);
      const owner = pending.result.user?.name;
      if (owner !== undefined) this.owners.set(id, owner);
      conn.on('close', () => {
        if (this.live.get(id) !== connection) return;
        this.live.delete(id);
        this.owners.delete(id);
      });
    }
    const origin = pending.req.headers.origin;
    this.host.openConnection(connection, pending.req, {
      user: pending.result.user,
      attributes: pending.result.attributes,
      origin: typeof origin === 'string' ? origin : undefined,
    });
  }
}

/** The sockjs internals read for buffered bytes and the socket (sockjs is pinned to ~0.3.24, whose code is frozen). */
interface SockJsSessionInternals {
  send_buffer?: string[];
  recv?: { connection?: Duplex; response?: { connection?: Duplex } | null; didClose?(): void } | null;
  to_tref?: NodeJS.Timeout | null;
  readyState?: number;
  didTimeout?(): void;
}

/** sockjs's Transport.CLOSED. */
const SOCKJS_CLOSED = 3;

/**
 * A STOMP close code as a SockJS close frame can carry it: browsers (and the WebSocket library
 * sockjs uses) accept only 1000 and 3000–4999 from applications, so 1001–1015 become 4001–4015.
 */
export function sockJsCloseCode(code: number): number {
  return code > 1000 && code < 1016 ? code + 3000 : code === 1000 || (code >= 3000 && code <= 4999) ? code : 4000;
}

/**
 * One SockJS session as a `Connection`. SockJS has no read back-pressure (xhr_send POSTs arrive
 * whenever the client sends), so while the session is paused (an async authenticator or
 * interceptor is running) incoming messages wait here, in order, up to `maxQueuedBytes`.
 */
export class SockJsConnection implements Connection {
  readonly textOnly = true;
  readonly transport: string;
  private endpoint: ConnectionEndpoint | undefined;
  private closing = false;
  private reported = false;
  private paused = false;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly conn: SockJsConn,
    private readonly maxQueuedBytes: number,
  ) {
    this.transport = `sockjs/${conn.protocol}`;
  }

  sendFrame(parts: readonly Buffer[], _binary: boolean): void {
    if (this.closing) return;
    const text = parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8');
    this.conn.write(text);
  }

  // sockjs writes each message to the current receiving request at once and batches what waits
  // between two polls itself: nothing to gain from corking here.
  cork(): void {}
  uncork(): void {}

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.clearDrainTimer();
    // sockjs sends what is buffered before its close frame (a polling client gets both on its next poll).
    try {
      this.conn.close(sockJsCloseCode(code), reason.slice(0, 120));
    } catch (err) {
      // Already closed underneath (the peer left at the same moment): nothing to tell it.
    }
    // sockjs reports 'close' only after its disconnect delay; the STOMP session is over now.
    setImmediate(() => this.reportClosed(code));
  }

  terminate(): void {
    const socket = this.socket();
    this.close(CloseCode.POLICY_VIOLATION, 'terminated');
    socket?.destroy();
  }

  bind(endpoint: ConnectionEndpoint): void {
    this.endpoint = endpoint;
    this.conn.on('data', (data: string | Buffer) => this.onData(data));
    this.conn.on('close', () => this.reportClosed(undefined));
  }

  watchDrain(): void {
    if (this.drainTimer !== undefined || this.closing) return;
    const socket = this.socket();
    if (socket !== undefined && socket.writableLength > 0) {
      socket.once('drain', () => this.endpoint?.drained());
      return;
    }
    // Waiting for the client's next poll: look again shortly (the outbox re-arms while it waits).
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      this.endpoint?.drained();
    }, 50);
    this.drainTimer.unref();
  }

  get remoteAddress(): string | undefined {
    return this.conn.remoteAddress;
  }

  get bufferedBytes(): number {
    const session = this.internals();
    let bytes = this.socket()?.writableLength ?? 0;
    const waiting = session?.send_buffer;
    if (waiting !== undefined) for (let i = 0; i < waiting.length; i++) bytes += waiting[i].length;
    return bytes;
  }

  pause(): void {
    this.paused = true;
  }

  /** Closes the SockJS session without its disconnect delay (sockjs keeps a polling session for it). */
  end(): void {
    this.terminate();
    const session = this.internals();
    if (session === undefined) return;
    try {
      session.recv?.didClose?.();
      if (session.to_tref != null) clearTimeout(session.to_tref);
      session.to_tref = null;
      if (session.recv == null && session.readyState !== SOCKJS_CLOSED) session.didTimeout?.();
    } catch (err) {
      // sockjs's own state checks: the session ended meanwhile.
    }
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.queue.length > 0 && !this.reported) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.endpoint?.receive(chunk);
    }
  }

  /** The peer sent a SockJS message over the size limit (its POST was refused with 413). */
  tooLarge(): void {
    this.endpoint?.transportError(new Error('SockJS message too large'), 1009);
    this.close(1009, 'message too big');
  }

  private onData(data: string | Buffer): void {
    if (this.closing) return;
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    if (!this.paused) {
      this.endpoint?.receive(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > this.maxQueuedBytes) {
      this.queue = [];
      this.queuedBytes = 0;
      this.endpoint?.transportError(new Error('SockJS client sent too much while the session was paused'), CloseCode.POLICY_VIOLATION);
      this.close(CloseCode.POLICY_VIOLATION, 'too much data while paused');
    }
  }

  private reportClosed(code: number | undefined): void {
    if (this.reported) return;
    this.reported = true;
    this.closing = true;
    this.clearDrainTimer();
    this.queue = [];
    this.endpoint?.transportClosed(code);
  }

  private clearDrainTimer(): void {
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
  }

  private internals(): SockJsSessionInternals | undefined {
    return (this.conn as unknown as { _session?: SockJsSessionInternals | null })._session ?? undefined;
  }

  /** The TCP socket of the session's current receiving request, if one is open. */
  private socket(): Duplex | undefined {
    const recv = this.internals()?.recv;
    return recv?.connection ?? recv?.response?.connection ?? undefined;
  }
}

function socketKey(socket: { remoteAddress?: string; remotePort?: number; localPort?: number } | null): string | undefined {
  if (socket === null || socket.remoteAddress === undefined) return undefined;
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localPort}`;
}

function answer(res: ServerResponse, status: number, reason: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  res.end(reason);
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}
