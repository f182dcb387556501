/**
 * The chat demo's logic, shared by the Express (server.ts) and Fastify (fastify-server.ts)
 * flavours: one broker with the chat's application and user destinations.
 *
 *   SEND      /app/chat/{room}           {text}      → /topic/chat/{room}  {id, from, text, at}
 *   SUBSCRIBE /app/chat/{room}/history               ← the room's last 50 messages (oldest first)
 *   SEND      /app/dm                    {to, text}  → /user/{to}/queue/dm {id, from, to, text, at},
 *                                                      echoed to the sender's own sessions
 *   SUBSCRIBE /topic/presence                        ← {users} on every online/offline change
 *   SUBSCRIBE /app/presence                          ← {users} now
 *   SUBSCRIBE /user/queue/errors                     ← what was wrong with a refused SEND
 *
 * Who is who: the CONNECT `login` header (any non-empty name; the passcode is ignored) or
 * `?user=<name>` on the WebSocket URL. Without either the session is anonymous: it cannot chat but
 * keeps every plain STOMP right — the demo is also a conformance target, so any client may
 * connect without a login and publish/subscribe on any `/topic/...` or `/queue/...` destination,
 * with the default limits and no origin restriction for non-browser clients.
 *
 * With STOMP_TCP_PORT set, the same broker also serves STOMP over plain TCP on 127.0.0.1 (backend
 * services: stompit, stomp.py); there is no default TCP port.
 * With RELAY_URL (stomp://guest:guest@127.0.0.1:61613) the broker is the RabbitMQ relay: every
 * demo started with the same RELAY_URL is one chat (rooms, presence and DMs across them).
 */
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import {
  createBroker,
  PayloadValidationError,
  type Authenticator,
  type BrokerOptions,
  type HandshakeInterceptor,
  type LoggerOption,
  type StompBroker,
  type TcpListener,
} from '@stompkit/core';

export const ROOM_PATTERN = /^[a-z0-9-]{1,32}$/;
export const MAX_TEXT_LENGTH = 2000;
export const HISTORY_SIZE = 50;
/** Rooms whose history is kept; the least recently used one is forgotten beyond this. */
export const MAX_ROOMS = 1000;

/** A room message as subscribers of /topic/chat/{room} receive it. */
export interface ChatMessage {
  id: string;
  from: string;
  text: string;
  /** ISO 8601 time the server received it. */
  at: string;
  /** True for messages posted over HTTP (POST /api/announce) rather than by a user. */
  announcement?: boolean;
}

/** A direct message as both sides receive it on /user/queue/dm. */
export interface DirectMessage {
  id: string;
  from: string;
  to: string;
  text: string;
  at: string;
}

export interface Presence {
  /** Names of the users online, sorted. */
  users: string[];
}

export interface ChatOptions {
  /** The server's heart-beat offer [cx, cy] ms. Default: STOMP_HEARTBEAT from `env`, else core's default. */
  heartbeat?: [number, number];
  /** Where STOMP_HEARTBEAT and RELAY_URL are read from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: LoggerOption;
  /** Extra broker options (tests); the chat's own authenticate/handshake take precedence. */
  broker?: BrokerOptions;
}

/** `STOMP_HEARTBEAT=cx,cy` (ms) → [cx, cy]; unset or empty → undefined (core's default). */
export function heartbeatFromEnv(value: string | undefined): [number, number] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (match === null) throw new Error(`STOMP_HEARTBEAT must look like '10000,10000' (ms), got '${value}'`);
  return [Number(match[1]), Number(match[2])];
}

/** `PORT` → a port number; unset or empty → `fallback`. */
export function portFromEnv(value: string | undefined, fallback = 8080): number {
  if (value === undefined || value.trim() === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got '${value}'`);
  return port;
}

/** CONNECT `login` → the principal (passcode ignored); no login keeps the handshake's user, or anonymous. */
export const loginAuthenticator: Authenticator = (info) => {
  const name = info.login?.trim();
  return name ? { name } : undefined;
};

/** `ws://host/ws?user=alice` (or `http://host/sockjs?user=alice`) → principal alice (a CONNECT login, if any, still wins). */
export const userQueryInterceptor: HandshakeInterceptor = {
  before(req, ctx) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const name = url.searchParams.get('user')?.trim();
    if (name) ctx.user = { name };
  },
};

/** Checks `{ text }` (and `to` for DMs); a body without content-type is parsed as JSON too. */
function textPayload<K extends string>(payload: unknown, extra: readonly K[] = []): { text: string } & Record<K, string> {
  let value = payload;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      invalid('the body must be a JSON object such as {"text":"hello"}');
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid('the body must be a JSON object such as {"text":"hello"}');
  const record = value as Record<string, unknown>;
  const text = record.text;
  if (typeof text !== 'string' || text.trim().length === 0) invalid('text must be a non-empty string');
  if (text.length > MAX_TEXT_LENGTH) invalid(`text must be at most ${MAX_TEXT_LENGTH} characters (got ${text.length})`);
  const out: Record<string, string> = { text };
  for (const key of extra) {
    const field = record[key];
    if (typeof field !== 'string' || field.trim().length === 0) invalid(`${key} must be a non-empty string`);
    out[key] = field.trim();
  }
  return out as { text: string } & Record<K, string>;
}

/** Validates an HTTP or STOMP `{ text }` body; throws PayloadValidationError with the reason. */
export function validateText(payload: unknown): { text: string } {
  return textPayload(payload);
}

function invalid(message: string): never {
  throw new PayloadValidationError([{ message }]);
}

function checkRoom(room: string | undefined): string {
  if (room === undefined || !ROOM_PATTERN.test(room)) invalid(`room names are 1 to 32 of a-z, 0-9 and '-', got '${room ?? ''}'`);
  return room;
}

function requireUser(user: { name: string } | undefined, what: string): string {
  if (user === undefined) invalid(`${what} needs a user name: CONNECT with a login header, or add ?user=<name> to the WebSocket URL`);
  return user.name;
}

/** The last HISTORY_SIZE messages of each room, for at most MAX_ROOMS rooms (least recently used forgotten). */
class RoomHistory {
  private readonly rooms = new Map<string, ChatMessage[]>();

  add(room: string, message: ChatMessage): void {
    const list = this.rooms.get(room) ?? [];
    this.rooms.delete(room); // re-insert: Map order is the LRU order
    this.rooms.set(room, list);
    list.push(message);
    if (list.length > HISTORY_SIZE) list.splice(0, list.length - HISTORY_SIZE);
    if (this.rooms.size > MAX_ROOMS) this.rooms.delete(this.rooms.keys().next().value!);
  }

  get(room: string): ChatMessage[] {
    return [...(this.rooms.get(room) ?? [])];
  }
}

export function presenceOf(broker: StompBroker): Presence {
  return { users: broker.users.list().map((u) => u.name).sort((a, b) => a.localeCompare(b)) };
}

/** The broker with every chat handler registered. Mount it with an adapter on '/ws'. */
export function createChatBroker(options: ChatOptions = {}): StompBroker {
  const env = options.env ?? process.env;
  const heartbeat = options.heartbeat ?? heartbeatFromEnv(env.STOMP_HEARTBEAT);
  const logger = options.logger ?? options.broker?.logger;
  const relayUrl = env.RELAY_URL?.trim();
  const broker = createBroker({
    ...(relayUrl ? { relay: { url: relayUrl } } : {}),
    ...options.broker,
    ...(heartbeat !== undefined ? { heartbeat } : {}),
    ...(logger !== undefined ? { logger } : {}),
    authenticate: loginAuthenticator,
    handshake: [userQueryInterceptor, ...(options.broker?.handshake ?? [])],
  });
  const history = new RoomHistory();
  const now = (): string => new Date().toISOString();

  broker.handle('/chat/{room}', (message, ctx): ChatMessage => {
    const room = checkRoom(ctx.params.room);
    const from = requireUser(ctx.user, 'chatting');
    const { text } = textPayload(message.payload);
    const entry: ChatMessage = { id: randomUUID(), from, text, at: now() };
    history.add(room, entry);
    return entry; // → /topic/chat/{room}
  });

  broker.subscribeMapping('/chat/{room}/history', (_message, ctx) => history.get(checkRoom(ctx.params.room)));

  broker.handle('/dm', async (message, ctx) => {
    const from = requireUser(ctx.user, 'sending a direct message');
    const { to, text } = textPayload(message.payload, ['to'] as const);
    if (!broker.users.isOnline(to)) invalid(`${to} is not online`);
    const dm: DirectMessage = { id: randomUUID(), from, to, text, at: now() };
    try {
      await ctx.template.sendToUser(to, '/queue/dm', dm);
      // The sender's own sessions (every tab) see the conversation too.
      if (to !== from) await ctx.template.sendToUser(from, '/queue/dm', dm);
    } catch (err) {
      if (err instanceof TypeError) invalid(err.message); // a name that cannot be addressed ('%2F')
      throw err;
    }
    return undefined;
  });

  broker.subscribeMapping('/presence', () => presenceOf(broker));

  const publishPresence = (): void => {
    broker.template.send('/topic/presence', presenceOf(broker)).catch((err: unknown) => {
      broker.options.logger.error({ err }, 'publishing presence failed');
    });
  };
  broker.users.on('online', publishPresence);
  broker.users.on('offline', publishPresence);

  return broker;
}

/** The /health route's body. */
/** A started chat server (Express or Fastify flavour). */
export interface RunningChat {
  /** http://localhost:<port> */
  url: string;
  port: number;
  broker: StompBroker;
  server: Server;
  /** Clients get ERROR 'server shutting down', then the HTTP server closes. */
  close(): Promise<void>;
}

export function health(broker: StompBroker): Record<string, unknown> {
  return { ok: true, users: broker.users.count(), ...broker.stats() };
}

/** The message POST /api/announce broadcasts to /topic/chat/lobby. */
export function announcement(text: string): ChatMessage {
  return { id: randomUUID(), from: 'server', text, at: new Date().toISOString(), announcement: true };
}

// ---- static files ---------------------------------------------------------------------------------

export interface Asset {
  /** URL path ('/', '/app.js', '/vendor/stomp.umd.min.js'). */
  path: string;
  file: string;
  contentType: string;
}

/** examples/chat/public, from src/ (ts-jest) and dist/ (node) alike. */
export const PUBLIC_DIR = join(__dirname, '..', 'public');

/** The @stomp/stompjs UMD bundle (global `StompJs`) from node_modules; its exports map hides the subpath, so resolve the main file. */
export function stompjsBundle(): string {
  return join(dirname(require.resolve('@stomp/stompjs')), 'stomp.umd.min.js');
}

/** The sockjs-client browser bundle (global `SockJS`) from node_modules: the page's fallback, served locally (no CDN). */
export function sockjsBundle(): string {
  return join(dirname(require.resolve('sockjs-client/package.json')), 'dist', 'sockjs.min.js');
}

/**
 * SockJS beside /ws (Spring's `withSockJS()`), the same for both flavours; its iframe page (old
 * browsers' fallback) loads the locally served bundle.
 */
export const SOCKJS_OPTIONS = { path: '/sockjs', clientScriptUrl: '/vendor/sockjs.min.js' } as const;

/** Everything the page needs, served the same way by both flavours. */
export function assets(): Asset[] {
  return [
    { path: '/', file: join(PUBLIC_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' },
    { path: '/index.html', file: join(PUBLIC_DIR, 'index.html'), contentType: 'text/html; charset=utf-8' },
    { path: '/app.js', file: join(PUBLIC_DIR, 'app.js'), contentType: 'text/javascript; charset=utf-8' },
    { path: '/style.css', file: join(PUBLIC_DIR, 'style.css'), contentType: 'text/css; charset=utf-8' },
    { path: '/favicon.svg', file: join(PUBLIC_DIR, 'favicon.svg'), contentType: 'image/svg+xml' },
    { path: '/vendor/stomp.umd.min.js', file: stompjsBundle(), contentType: 'text/javascript; charset=utf-8' },
    { path: '/vendor/sockjs.min.js', file: sockjsBundle(), contentType: 'text/javascript; charset=utf-8' },
  ];
}

/** Headers for every static response: no sniffing, and the page may only load and connect to its own origin. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
};

/** Reads an asset (per request, so editing public/ needs no restart). */
export function readAsset(asset: Asset): Promise<Buffer> {
  return readFile(asset.file);
}

/** The start-up line both flavours print (and the STOMP TCP port, when one is open). */
export function banner(flavour: string, port: number, tcpPort?: number): string {
  const tcp = tcpPort === undefined ? '' : `, STOMP over TCP on 127.0.0.1:${tcpPort}`;
  return `stompkit chat (${flavour}) on http://localhost:${port} — STOMP endpoints ws://localhost:${port}/ws and SockJS http://localhost:${port}/sockjs${tcp}\n`;
}

/**
 * `STOMP_TCP_PORT` → the port of the demo's STOMP-over-TCP listener (0 = any free port); unset or
 * empty → none. There is deliberately no default: RabbitMQ's STOMP plugin may hold 61613.
 */
export function tcpPortFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return portFromEnv(value);
}

/**
 * Serves the chat's broker to STOMP clients over TCP (stompit, stomp.py, ...) on 127.0.0.1 when
 * STOMP_TCP_PORT is set: the same rooms, DMs and presence; the CONNECT `login` names the user.
 * Closed with the broker.
 */
export async function listenTcpFromEnv(broker: StompBroker, env: NodeJS.ProcessEnv = process.env): Promise<TcpListener | undefined> {
  const port = tcpPortFromEnv(env.STOMP_TCP_PORT);
  if (port === undefined) return undefined;
  return broker.listen({ port, host: '127.0.0.1' });
}

/** The command line of either flavour: start on $PORT, print the banner, close on SIGINT/SIGTERM. */
export function runFromCommandLine(flavour: string, start: (port: number) => Promise<RunningChat>): void {
  start(portFromEnv(process.env.PORT))
    .then(async (chat) => {
      exitOnSignals(chat.close);
      const tcp = await listenTcpFromEnv(chat.broker);
      process.stdout.write(banner(flavour, chat.port, tcp?.port));
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}

/** SIGINT/SIGTERM → `close()` then exit; a second signal exits at once. */
export function exitOnSignals(close: () => Promise<void>): void {
  let closing = false;
  const onSignal = (): void => {
    if (closing) process.exit(1);
    closing = true;
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
