/**
 * The WebSocket handshake pipeline, shared by `StompBroker.handleUpgrade` and both framework
 * adapters: the origin check, then the user's interceptors (Spring's `HandshakeInterceptor`), then
 * — once the session exists — their `after` hooks.
 *
 * Order and why:
 * 1. Origin. Browsers send `Origin` on every WebSocket handshake and attach cookies to cross-site
 *    ones, so a page on another site could open a socket that rides the victim's session
 *    (cross-site WebSocket hijacking). Same-origin is allowed by default rather than `*`, like
 *    Spring; unlike Spring (which appends its OriginHandshakeInterceptor after the user's), the
 *    check runs first, so no interceptor ever does work, or I/O, for a refused origin.
 * 2. `before` interceptors in order, each may be async. `false` refuses with 403, a
 *    `{ status, reason }` with that status; a throw is a 500 (logged, reason not leaked).
 *    They may fill the session attributes and set the principal.
 * 3. `after` interceptors run once the session exists (`StompBroker.openSession`).
 *
 * A refusal is always a complete HTTP response (status line, `Connection: close`, a short text
 * body), then the socket closes: never a half-open socket.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger';
import type { Principal } from '../options';
import type { StompSession } from '../session/stomp-session';

/** What `before` interceptors see and may change. */
export interface HandshakeContext {
  /** Becomes the session's attributes: visible to handlers and interceptors for the session's life. */
  readonly attributes: Map<string, unknown>;
  /** The principal so far (from framework auth); set it to establish who connects. */
  user: Principal | undefined;
}

/** Refuses a handshake with this HTTP status (4xx or 5xx) and a short text reason. */
export interface HandshakeRejection {
  status: number;
  reason?: string;
}

type BeforeResult = boolean | void | HandshakeRejection;

export interface HandshakeInterceptor {
  /**
   * Before the upgrade. Return nothing or `true` to go on, `false` to refuse with 403, or
   * `{ status, reason }` to refuse with that status. May be async.
   */
  before?(req: IncomingMessage, ctx: HandshakeContext): BeforeResult | Promise<BeforeResult>;
  /** After the upgrade, once the STOMP session exists (before its CONNECT frame). */
  after?(req: IncomingMessage, session: StompSession): void;
}

export interface HandshakeInit {
  /** Principal already established by the framework's auth. */
  user?: Principal;
  /** Attributes to start from (the map is used, not copied). Default: a new map. */
  attributes?: Map<string, unknown>;
}

export type HandshakeResult =
  /** `attributes` is undefined when no interceptor touched them (the session creates its map on first use). */
  | { accepted: true; user: Principal | undefined; attributes: Map<string, unknown> | undefined }
  | { accepted: false; status: number; reason: string };

/** A HandshakeContext whose attribute map is made only if an interceptor asks for it. */
class Context implements HandshakeContext {
  constructor(
    private map: Map<string, unknown> | undefined,
    public user: Principal | undefined,
  ) {}

  get attributes(): Map<string, unknown> {
    return (this.map ??= new Map());
  }

  get attributesIfAny(): Map<string, unknown> | undefined {
    return this.map;
  }
}

export interface HandshakeOptions {
  /** See BrokerOptions.allowedOrigins. */
  allowedOrigins?: readonly string[];
  /** See BrokerOptions.handshake. */
  interceptors?: readonly HandshakeInterceptor[];
  logger: Logger;
}

export class Handshake {
  private readonly anyOrigin: boolean;
  private readonly exactOrigins: Set<string>;
  private readonly originPatterns: RegExp[];
  private readonly interceptors: readonly HandshakeInterceptor[];
  private readonly logger: Logger;
  /** Requests whose origin an adapter already checked (it ran the check before framework auth). */
  private readonly originChecked = new WeakSet<IncomingMessage>();

  constructor(options: HandshakeOptions) {
    const origins = options.allowedOrigins ?? [];
    if (!Array.isArray(origins)) throw new TypeError('allowedOrigins must be an array of origins or origin patterns');
    this.anyOrigin = origins.includes('*');
    this.exactOrigins = new Set();
    this.originPatterns = [];
    for (const entry of origins) {
      if (typeof entry !== 'string' || entry.length === 0) throw new TypeError('allowedOrigins entries must be non-empty strings');
      if (entry === '*') continue;
      const normalized = normalizeOrigin(entry);
      if (normalized.includes('*')) this.originPatterns.push(compileOriginPattern(normalized));
      else this.exactOrigins.add(normalized);
    }
    const interceptors = options.interceptors ?? [];
    if (!Array.isArray(interceptors)) throw new TypeError('handshake must be an array of interceptors');
    this.interceptors = [...interceptors];
    for (const interceptor of this.interceptors) {
      if (interceptor === null || typeof interceptor !== 'object') throw new TypeError('handshake interceptors must be objects with before/after methods');
    }
    this.logger = options.logger;
  }

  /**
   * Who may frame a page of ours (SockJS's iframe page), following Spring: anyone with '*',
   * same-origin pages only by default, nobody when `allowedOrigins` lists origins (a framed page
   * cannot tell which origin embeds it, so the list could not be enforced).
   */
  get framePolicy(): 'any' | 'same-origin' | 'none' {
    if (this.anyOrigin) return 'any';
    return this.exactOrigins.size === 0 && this.originPatterns.length === 0 ? 'same-origin' : 'none';
  }

  /** The origin check alone; `undefined` when the request may go on. */
  checkOrigin(req: IncomingMessage): HandshakeRejection | undefined {
    if (this.anyOrigin || this.originChecked.has(req)) return undefined;
    const origin = header(req, 'origin');
    // No Origin: not a browser (ws, Node, mobile apps), so no ambient cookies to hijack.
    if (origin !== undefined && !this.isAllowedOrigin(origin, header(req, 'host'))) {
      this.logger.warn({ status: 403, url: req.url, origin, allowedOrigins: this.describeOrigins() }, 'websocket upgrade refused: origin not allowed (see allowedOrigins)');
      return { status: 403, reason: 'Origin not allowed' };
    }
    this.originChecked.add(req);
    return undefined;
  }

  /** Same-origin, `*`, an exact origin, or a pattern. */
  isAllowedOrigin(origin: string, host: string | undefined): boolean {
    if (this.anyOrigin) return true;
    const normalized = normalizeOrigin(origin);
    if (host !== undefined && sameOrigin(normalized, host)) return true;
    if (this.exactOrigins.has(normalized)) return true;
    for (const pattern of this.originPatterns) if (pattern.test(normalized)) return true;
    return false;
  }

  /** Origin check, then the `before` interceptors in order. Never rejects. */
  async run(req: IncomingMessage, init: HandshakeInit = {}): Promise<HandshakeResult> {
    const refused = this.checkOrigin(req);
    if (refused !== undefined) return rejected(refused);
    const ctx = new Context(init.attributes, init.user);
    for (const interceptor of this.interceptors) {
      if (interceptor.before === undefined) continue;
      let result: BeforeResult;
      try {
        result = await interceptor.before(req, ctx);
      } catch (err) {
        this.logger.error({ err, url: req.url }, 'a handshake interceptor threw; refusing the handshake');
        return { accepted: false, status: 500, reason: STATUS_CODES[500]! };
      }
      if (result === undefined || result === true) continue;
      if (result === false) return this.refused(req, { status: 403 });
      if (typeof result === 'object' && result !== null && typeof result.status === 'number') {
        if (Number.isInteger(result.status) && result.status >= 400 && result.status <= 599) return this.refused(req, result);
        this.logger.error({ status: result.status, url: req.url }, 'a handshake interceptor refused with a status outside 400-599; answering 500');
        return { accepted: false, status: 500, reason: STATUS_CODES[500]! };
      }
      this.logger.error({ result, url: req.url }, 'a handshake interceptor returned something other than boolean, undefined or { status }; refusing');
      return { accepted: false, status: 500, reason: STATUS_CODES[500]! };
    }
    return { accepted: true, user: ctx.user, attributes: ctx.attributesIfAny };
  }

  private refused(req: IncomingMessage, rejection: HandshakeRejection): HandshakeResult {
    const result = rejected(rejection);
    if (!result.accepted) this.logger.warn({ status: result.status, url: req.url, reason: result.reason }, 'websocket upgrade refused by a handshake interceptor');
    return result;
  }

  private describeOrigins(): string {
    const list = [...this.exactOrigins, ...this.originPatterns.map((p) => p.source)];
    return list.length === 0 ? 'same origin only' : list.join(', ');
  }

  /** The `after` interceptors; a throw is logged, it does not end the session. */
  after(req: IncomingMessage, session: StompSession): void {
    for (const interceptor of this.interceptors) {
      if (interceptor.after === undefined) continue;
      try {
        interceptor.after(req, session);
      } catch (err) {
        this.logger.error({ err, sessionId: session.sessionId }, 'a handshake interceptor threw after the handshake');
      }
    }
  }
}

function rejected(rejection: HandshakeRejection): HandshakeResult {
  const status = rejection.status;
  return { accepted: false, status, reason: rejection.reason ?? STATUS_CODES[status] ?? 'Refused' };
}

/**
 * Answers a refused upgrade on the raw socket with a complete HTTP response and closes it. The
 * reason goes in the body only (the status line keeps the standard text), stripped of control
 * characters.
 */
export function writeRejection(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(reason.replace(/[\x00-\x1f\x7f]/g, ' ').slice(0, 512), 'utf8');
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\n` +
    'Connection: close\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n\r\n`;
  // Node removed its own 'error' listener before 'upgrade': a reset peer must not crash the process.
  socket.on('error', destroySocket);
  socket.once('finish', destroySocket);
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/** Lower case, no trailing slash, no default port: 'HTTPS://App.Example:443/' → 'https://app.example'. */
function normalizeOrigin(origin: string): string {
  let value = origin.trim().toLowerCase();
  if (value.endsWith('/')) value = value.slice(0, -1);
  const match = /^([a-z][a-z0-9+.-]*:)\/\/(.*):(\d+)$/.exec(value);
  if (match !== null && DEFAULT_PORTS[match[1]] === match[3]) value = `${match[1]}//${match[2]}`;
  return value;
}

/**
 * True when the origin's host and port equal the request's Host header (default ports filled in
 * from the origin's scheme). The scheme is not compared: behind a TLS-terminating proxy the
 * server cannot know it. A proxy that rewrites Host needs `allowedOrigins`.
 */
function sameOrigin(origin: string, hostHeader: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.host === '') return false;
  const defaultPort = DEFAULT_PORTS[url.protocol];
  const originPort = url.port || defaultPort;
  const host = hostHeader.trim().toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  if (m === null) return false;
  return m[1] === url.hostname && (m[2] ?? defaultPort) === originPort;
}

/**
 * 'https://*.example.com' → any subdomain (nested too) of example.com, not example.com itself;
 * a trailing ':*' (as in 'http://localhost:*') → any port, or none. Elsewhere '*' stands for one
 * or more host characters (letters, digits, '.', '-'), so it can never reach past the host.
 */
function compileOriginPattern(pattern: string): RegExp {
  let rest = pattern;
  let anyPort = false;
  if (rest.endsWith(':*')) {
    anyPort = true;
    rest = rest.slice(0, -2);
  }
  const source = rest
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[a-z0-9.-]+');
  return new RegExp(`^${source}${anyPort ? '(?::\\d+)?' : ''}$`);
}
