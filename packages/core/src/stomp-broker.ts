/**
 * The entry point: `createBroker(options)` ties sessions, the inbound channel, the message broker
 * and the WebSocket transport together. Framework adapters (Express, Fastify) call the same
 * `handleUpgrade` entry point and add only framework glue.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { randomBytes, randomUUID } from 'node:crypto';
import type { WebSocket, WebSocketServer } from 'ws';
import { SimpleBroker } from './broker/simple-broker';
import { RelayBroker } from './relay/relay-broker';
import { createIdGenerator } from './broker/message-id';
import type { Broker, BrokerMessage, Consumer, Delivery } from './broker/types';
import { Metrics, type StompBrokerStats } from './metrics/metrics';
import { InboundChannel, type SessionContext, type SubscriptionInfo } from './channel/inbound-channel';
import { headerRecord } from './channel/interceptors';
import { functionalEntry } from './app/handler-registry';
import { controllerEntries } from './app/decorators';
import type { HandleOptions, MessageHandler } from './app/types';
import { UserRegistry } from './user/user-registry';
import { resolveOptions, type BrokerOptions, type Principal, type ResolvedOptions } from './options';
import { onReceiveTick, onSendTick, StompSession, type CloseReason, type SessionHost, type SessionInit, type SlowConsumerInfo } from './session/stomp-session';
import { StompError } from './errors';
import { CloseCode, type Connection } from './session/connection';
import { ownString } from './codec/frame';
import { DecoderPool } from './session/decoder-pool';
import { HeartbeatClock } from './session/heartbeat-clock';
import type { OutboxLimits } from './session/outbox';
import { MessagingTemplate, type Payload, type SendOptions } from './template';
import {
  createWebSocketServer,
  requestPath,
  WebSocketConnection,
  type WebSocketOptions,
} from './transport/websocket';
import { Handshake, writeRejection } from './transport/handshake';
import { TcpListener, type TcpListenOptions } from './transport/tcp';
import { SockJsEndpoint, type SockJsOptions } from './transport/sockjs';

export interface AttachOptions extends WebSocketOptions {
  /** URL path of the STOMP endpoint. Default '/ws'. */
  path?: string;
}

export interface UpgradeOptions {
  /** Principal established by the framework's auth for this request (interceptors may replace it). */
  user?: Principal;
  /** Session attributes to start from, visible to handlers and interceptors for the session's life. Default: a new map. */
  attributes?: Map<string, unknown>;
}

export interface ReceivedMessage {
  destination: string;
  headers: Record<string, string>;
  body: Buffer;
  contentType?: string;
  messageId: string;
  /** The body as text (UTF-8). */
  text(): string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

/**
 * Session lifecycle events, each fired after the state it describes is in place, in this order
 * for one session: connect → connected → (subscribe | unsubscribe)* → disconnect. A listener that
 * throws is logged; it never affects the session.
 */
export interface StompBrokerEvents {
  /** CONNECT accepted (authenticated, passed the inbound interceptors): `session.user` is final; CONNECTED is about to be sent. */
  connect: [session: StompSession];
  /** A session completed CONNECT (CONNECTED was sent; the user registry lists it). */
  connected: [session: StompSession];
  /** A subscription is live: the broker registered it (a subscribe mapping: its reply was delivered). */
  subscribe: [session: StompSession, subscription: SubscriptionInfo];
  /** A subscription is gone from the broker. */
  unsubscribe: [session: StompSession, subscription: SubscriptionInfo];
  /** A session ended; fired exactly once per session, after its subscriptions were released. */
  disconnect: [session: StompSession, reason: CloseReason];
  /** A client did not read fast enough: some of its topic messages were dropped, or it was closed. */
  'slow-consumer': [session: StompSession, info: SlowConsumerInfo];
}

export interface CloseOptions {
  /** How long to wait for clients to close (after the ERROR) before their sockets are destroyed, ms. Default 5000. */
  timeout?: number;
  /** The ERROR `message` clients see. Default 'server shutting down'. */
  message?: string;
  /**
   * ms during which sessions read no new frame but finish the ones already in progress (async
   * handlers, interceptors or authenticators still running, their RECEIPTs), before the ERROR.
   * Ends early once none is left. Default 0: the ERROR goes out at once.
   */
  grace?: number;
}

interface Attachment {
  server: HttpServer | HttpsServer;
  listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The server's 'request' listeners before SockJS wrapped them (attach with `sockjs`), restored on close. */
  requestListeners?: { wrapper: (req: IncomingMessage, res: ServerResponse) => void; original: Function[] };
}

export class StompBroker extends EventEmitter<StompBrokerEvents> implements SessionHost {
  readonly options: ResolvedOptions;
  readonly broker: Broker;
  readonly channel: InboundChannel;
  readonly template: MessagingTemplate;
  /** Live sessions by id. */
  readonly sessions = new Map<string, StompSession>();
  /** Who is online (sessions with a principal): get(name), list(), count(), isOnline(name); 'online' / 'offline' events. */
  readonly users: UserRegistry;
  readonly nextMessageId: () => string;
  /** This process's id in message ids and, with a relay, in the cluster (`nodeId` option, default random). */
  readonly nodeId: string;
  /** The handshake pipeline (origin check, interceptors) every upgrade goes through; adapters call it too. */
  readonly handshake: Handshake;
  /** Options of the WebSocket server; an adapter that upgrades with its own `ws` server must use the same. */
  readonly webSocketOptions: Required<WebSocketOptions>;
  /** The counters behind stats() (metrics/metrics.ts); sessions update them. */
  readonly metrics: Metrics;

  private readonly wss: WebSocketServer;
  private readonly compression: boolean;
  private readonly attachments: Attachment[] = [];
  /** TCP/TLS listeners opened by listen(); closed by close(). */
  private readonly tcpListeners = new Set<TcpListener>();
  /** Sessions whose transport is still open (a closed one may still be releasing its broker state). */
  private openConnections = 0;
  /** Lent to sessions for reading (session/decoder-pool.ts). */
  readonly decoders: DecoderPool;
  /** One outbound-limits object shared by every session. */
  readonly outboxLimits: OutboxLimits;
  /** Heart-beat ticks for every session (session/heartbeat-clock.ts). */
  readonly heartbeats: { readonly send: HeartbeatClock<StompSession>; readonly receive: HeartbeatClock<StompSession> };
  private inProcessCounter = 0;
  /** SockJS endpoints by path (sockJs()). */
  private readonly sockJsEndpoints = new Map<string, SockJsEndpoint>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: BrokerOptions & WebSocketOptions = {}) {
    super();
    this.options = resolveOptions(options);
    const limits = this.options.limits;
    this.decoders = new DecoderPool({ maxFrameBytes: limits.maxFrameBytes, maxHeaders: limits.maxHeaders, maxHeaderBytes: limits.maxHeaderBytes });
    const tickFailed = (err: unknown, session: StompSession): void => {
      this.options.logger.error({ err, sessionId: session.sessionId }, 'a heart-beat check failed');
    };
    this.heartbeats = { send: new HeartbeatClock(onSendTick, tickFailed), receive: new HeartbeatClock(onReceiveTick, tickFailed) };
    this.outboxLimits = {
      highWaterMark: limits.outboundHighWaterMark,
      maxBytes: limits.maxOutboundBytes,
      sendTimeLimit: limits.sendTimeLimit,
      policy: this.options.slowConsumerPolicy,
    };
    this.nodeId = options.nodeId ?? randomBytes(6).toString('base64url');
    this.nextMessageId = createIdGenerator(this.nodeId);
    this.metrics = new Metrics(this.options);
    if (options.relay !== undefined && options.broker !== undefined) throw new TypeError('give either relay or broker, not both');
    this.broker =
      options.broker ??
      (options.relay !== undefined
        ? new RelayBroker({
            ...options.relay,
            brokerPrefixes: this.options.brokerPrefixes,
            queuePrefixes: this.options.queuePrefixes,
            destinationSeparator: this.options.destinationSeparator,
            nextId: this.nextMessageId,
            maxFrameBytes: options.relay.maxFrameBytes ?? this.options.limits.maxFrameBytes + 64 * 1024,
            logger: this.options.logger,
          })
        : undefined) ??
      new SimpleBroker({
        ...options.simpleBroker,
        queuePrefixes: this.options.queuePrefixes,
        destinationSeparator: this.options.destinationSeparator,
        nextId: this.nextMessageId,
        onConsumerError:
          options.simpleBroker?.onConsumerError ??
          ((err, sessionId) => this.options.logger.error({ err, sessionId }, 'a subscriber threw while receiving a message')),
      });
    this.users = new UserRegistry((err) => this.options.logger.error({ err }, 'a user registry listener threw'));
    this.channel = new InboundChannel({
      broker: this.broker,
      options: this.options,
      users: this.users,
      sessions: this.sessions,
      nextMessageId: this.nextMessageId,
      events: {
        connect: (session) => this.notify('connect', session as StompSession),
        subscribe: (session, subscription) => this.notify('subscribe', session as StompSession, subscription),
        unsubscribe: (session, subscription) => this.notify('unsubscribe', session as StompSession, subscription),
      },
    });
    this.template = this.channel.template;
    this.broker.start?.({
      nodeId: this.nodeId,
      users: this.users,
      logger: this.options.logger,
      deliverToUser: (message) => this.channel.deliverForwardedUserMessage(message),
    });
    this.compression = options.perMessageDeflate !== undefined && options.perMessageDeflate !== false;
    this.webSocketOptions = {
      perMessageDeflate: options.perMessageDeflate ?? false,
      maxPayload: options.maxPayload ?? this.options.limits.maxFrameBytes + 16 * 1024,
    };
    this.wss = createWebSocketServer(this.webSocketOptions);
    this.handshake = new Handshake({
      allowedOrigins: options.allowedOrigins,
      interceptors: options.handshake,
      logger: this.options.logger,
    });
  }

  // ---- mounting ----------------------------------------------------------------------------------

  /**
   * Serves STOMP on `server` at `path` (default '/ws'). Upgrades for other paths are left to other
   * listeners; when no other listener exists they get a 404 instead of hanging.
   *
   * With `sockjs` (Spring's `withSockJS()`), SockJS clients are served too, at `sockjs.path`
   * (default '/sockjs'): its upgrades here, its HTTP requests by wrapping the server's current
   * 'request' listeners (as sockjs's own `installHandlers` does; attach after the app is set).
   */
  attach(server: HttpServer | HttpsServer, options: { path?: string; sockjs?: boolean | SockJsOptions } = {}): this {
    const path = options.path ?? '/ws';
    const sockjs = options.sockjs === undefined || options.sockjs === false ? undefined : this.sockJs(options.sockjs === true ? {} : options.sockjs);
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (requestPath(req) === path) {
        this.handleUpgrade(req, socket, head);
      } else if (sockjs?.matches(req) === true) {
        sockjs.handleUpgrade(req, socket, head);
      } else if (server.listenerCount('upgrade') === 1) {
        this.options.logger.warn({ status: 404, url: req.url, path }, 'websocket upgrade refused: no STOMP endpoint at this path');
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    server.on('upgrade', listener);
    const attachment: Attachment = { server, listener };
    if (sockjs !== undefined) {
      const original = server.listeners('request');
      const wrapper = (req: IncomingMessage, res: ServerResponse): void => {
        if (sockjs.matches(req)) sockjs.handleRequest(req, res);
        else if (original.length === 0) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
        else for (const l of original) l.call(server, req, res);
      };
      server.removeAllListeners('request');
      server.on('request', wrapper);
      attachment.requestListeners = { wrapper, original };
    }
    this.attachments.push(attachment);
    return this;
  }

  /**
   * The SockJS endpoint at `options.path` (default '/sockjs'), made on first use: adapters hand it
   * the HTTP requests and upgrades under that path after their framework auth
   * (`handleRequest` / `handleUpgrade`); `attach(server, { sockjs })` does it without a framework.
   */
  sockJs(options: SockJsOptions = {}): SockJsEndpoint {
    const path = options.path ?? '/sockjs';
    let endpoint = this.sockJsEndpoints.get(path);
    if (endpoint === undefined) {
      const maxMessageBytes = options.maxMessageBytes ?? 2 * this.options.limits.maxFrameBytes + 16 * 1024;
      const broker = this;
      endpoint = new SockJsEndpoint(
        {
          handshake: this.handshake,
          logger: this.options.logger,
          get accepting() {
            return !broker.closed;
          },
          openConnection: (connection, req, init) => this.openConnection(connection, req, init),
          upgradeWebSocket: (req, socket, head, init) =>
            this.wss.handleUpgrade(req, socket, head, (ws) =>
              this.openConnection(new WebSocketConnection(ws, socket, this.compression, 'sockjs/websocket-raw'), req, {
                ...init,
                subprotocol: ws.protocol || undefined,
              }),
            ),
        },
        { ...options, path, maxMessageBytes },
      );
      this.sockJsEndpoints.set(path, endpoint);
    }
    return endpoint;
  }

  /**
   * Completes a WebSocket upgrade the caller has decided belongs to STOMP (adapters call this after
   * their own routing and auth): runs the handshake pipeline (origin check, then the `handshake`
   * interceptors, which may be async) and starts a session, or answers the refusal on the socket.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: UpgradeOptions = {}): void {
    if (this.closed) {
      writeRejection(socket, 503, 'server shutting down');
      return;
    }
    // Node drops its own socket 'error' listener before emitting 'upgrade'; guard the socket while
    // the (possibly async) handshake runs, until ws takes it over.
    socket.on('error', destroyOnError);
    this.handshake.run(req, options).then(
      (result) => {
        socket.off('error', destroyOnError);
        if (socket.destroyed) return;
        if (!result.accepted) writeRejection(socket, result.status, result.reason);
        else if (this.closed) writeRejection(socket, 503, 'server shutting down');
        else this.wss.handleUpgrade(req, socket, head, (ws) => this.openSession(ws, socket, req, result));
      },
      (err: unknown) => {
        socket.off('error', destroyOnError);
        this.options.logger.error({ err, url: req.url }, 'websocket upgrade failed');
        writeRejection(socket, 500, 'Internal Server Error');
      },
    );
  }

  /**
   * Starts a STOMP session on an already-upgraded WebSocket (e.g. one handed over by
   * @fastify/websocket, whose adapter ran `handshake.run` first), then runs the interceptors'
   * `after` hooks when `req` is given.
   */
  openSession(ws: WebSocket, socket: Duplex, req: IncomingMessage | undefined, options: UpgradeOptions = {}): StompSession {
    return this.openConnection(new WebSocketConnection(ws, socket, this.compression), req, {
      user: options.user,
      attributes: options.attributes,
      subprotocol: ws.protocol || undefined,
      origin: typeof req?.headers.origin === 'string' ? req.headers.origin : undefined,
    });
  }

  /**
   * Serves STOMP over plain TCP, or TLS with `tls` options, to clients such as stompit, stomp.py
   * or Java STOMP clients: the same sessions, handlers, interceptors, limits and metrics as the
   * WebSocket path. There is no HTTP handshake: clients authenticate on CONNECT through
   * `authenticate` (a trusted TLS client certificate gives the starting principal). Resolves once
   * bound, with a listener whose `port` is the bound port; close() (or the broker's) stops it.
   */
  async listen(options: TcpListenOptions = {}): Promise<TcpListener> {
    if (this.closed) throw new Error('the broker is closed');
    const listener = new TcpListener((connection, user) => this.openConnection(connection, undefined, { user }), this.options.logger, options);
    await listener.start();
    if (this.closed) {
      // close() ran while the port was being bound.
      await listener.close();
      throw new Error('the broker is closed');
    }
    this.tcpListeners.add(listener);
    return listener;
  }

  /**
   * Starts a STOMP session on any transport's `Connection` (WebSocket, SockJS, TCP): counts it,
   * applies maxSessions (a broker already closing ends it at once), then runs the handshake
   * interceptors' `after` hooks when `req` is given.
   */
  openConnection(connection: Connection, req: IncomingMessage | undefined, init: Omit<SessionInit, 'id'>): StompSession {
    // randomUUID() may return a rope of two strings; a flat copy is 32 bytes smaller per session.
    const session = new StompSession(this, connection, { id: ownString(randomUUID()), ...init });
    this.sessions.set(session.sessionId, session);
    this.openConnections++;
    this.metrics.connectionOpened();
    connection.bind(session);
    const maxSessions = this.options.limits.maxSessions;
    if (this.closed) session.close('server shutting down', { kind: 'server-close', message: 'server shutting down' });
    else if (maxSessions > 0 && this.sessions.size > maxSessions) {
      session.fail(new StompError('STOMP_ERR_LIMIT', `limit maxSessions (${maxSessions}) exceeded: the server has too many sessions`, { headers: [['limit', 'maxSessions']] }), undefined);
    } else if (req !== undefined) this.handshake.after(req, session);
    return session;
  }

  // ---- SessionHost -------------------------------------------------------------------------------

  sessionConnected(session: StompSession): void {
    this.metrics.sessionConnected();
    if (session.user !== undefined) this.users.add(session.user.name, session.sessionId);
    this.notify('connected', session);
  }

  slowConsumer(session: StompSession, info: SlowConsumerInfo): void {
    if (info.action === 'dropped') this.metrics.droppedFrames(info.frames);
    this.notify('slow-consumer', session, info);
  }

  connectionClosed(): void {
    this.openConnections--;
  }

  sessionClosed(session: StompSession, reason: CloseReason): void {
    this.sessions.delete(session.sessionId);
    if (session.user !== undefined) this.users.remove(session.user.name, session.sessionId);
    this.metrics.closed(reason.kind);
    this.notify('disconnect', session, reason);
  }

  /** Emits a lifecycle event; a throwing listener is logged and never reaches the session. */
  private notify<K extends keyof StompBrokerEvents>(event: K, ...args: StompBrokerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: StompBrokerEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.options.logger.error({ err, event, sessionId: (args[0] as SessionContext).sessionId }, `a '${event}' listener threw`);
    }
  }

  // ---- application destinations ------------------------------------------------------------------

  /**
   * Handles SEND frames to an application destination: `handle('/chat/{room}', fn)` serves
   * '/app/chat/{room}' (pattern relative to the application prefixes). The return value goes to
   * `sendTo`, `sendToUser`, or by default '/topic' + the pattern's path ('/topic/chat/general').
   * See HandleOptions for validation and error handling.
   */
  handle<P = any>(pattern: string, handler: MessageHandler<P>, options?: HandleOptions<P>): this {
    this.channel.app.register(functionalEntry('message', pattern, handler as MessageHandler, options as HandleOptions));
    return this;
  }

  /**
   * Answers SUBSCRIBE frames to an application destination once, directly on that subscription
   * (e.g. chat history), without registering anything in the broker. With `sendTo` / `sendToUser`
   * the reply goes there instead.
   */
  subscribeMapping<P = any>(pattern: string, handler: MessageHandler<P>, options?: HandleOptions<P>): this {
    this.channel.app.register(functionalEntry('subscribe', pattern, handler as MessageHandler, options as HandleOptions));
    return this;
  }

  /** Registers decorated controller instances (`@MessageMapping`, `@SubscribeMapping`, ...). */
  controllers(...instances: object[]): this {
    const entries = instances.flatMap((instance) => controllerEntries(instance));
    this.channel.app.registerAll(entries);
    return this;
  }

  /**
   * Force-disconnects a session: the client gets an ERROR frame whose `message` is `reason`, then
   * the connection closes; 'disconnect' fires with `{ kind: 'server-close', message: reason }`.
   * Returns false when no such open session exists.
   */
  disconnectSession(sessionId: string, reason = 'disconnected by the server'): boolean {
    const session = this.sessions.get(sessionId);
    if (session === undefined || !session.isOpen) return false;
    session.close(reason, { kind: 'server-close', message: reason });
    return true;
  }

  // ---- application API ---------------------------------------------------------------------------

  /** Publishes from application code; see MessagingTemplate.send for payload conversion. */
  publish(destination: string, payload: Payload, options?: SendOptions): Promise<void> {
    return this.template.send(destination, payload, options);
  }

  /**
   * Subscribes in-process to a broker destination (auto-ack). On a `/queue` destination the callback
   * competes with client consumers. Returns a function that unsubscribes.
   */
  subscribe(destination: string, callback: (message: ReceivedMessage) => void): () => void {
    const id = `in-process-${++this.inProcessCounter}`;
    const consumer: Consumer = {
      sessionId: id,
      deliver: (delivery: Delivery) => callback(toReceived(delivery.message)),
    };
    const result = this.channel.subscribeLocal(consumer, { id, destination, ack: 'auto' });
    if (result instanceof Promise) result.catch((err) => this.options.logger.error({ err, destination }, 'in-process subscribe failed'));
    return () => {
      void this.broker.disconnect(id);
    };
  }

  /**
   * A snapshot of the counters (metrics/metrics.ts, StompBrokerStats): the message broker's
   * (subscriptions, queue depths, published, delivered, ...), connections and sessions by version,
   * messages and bytes in and out by destination prefix, drops, errors by code, exceeded limits,
   * heart-beat timeouts, and the bytes waiting on sockets now (one pass over the sessions).
   */
  stats(): StompBrokerStats {
    return this.metrics.stats(this.broker.stats(), this.sessions.values(), this.sessions.size, this.openConnections);
  }

  /**
   * Stops accepting connections; with `grace`, lets sessions finish the frames in progress (no new
   * frame is read) for up to `grace` ms; then tells every connected client (ERROR `message:server
   * shutting down`), flushes, and resolves once every socket closed or `timeout` passed (then
   * destroys the rest).
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    for (const { server, listener, requestListeners } of this.attachments) {
      server.off('upgrade', listener);
      if (requestListeners !== undefined) {
        server.off('request', requestListeners.wrapper);
        for (const l of requestListeners.original) server.on('request', l as (req: IncomingMessage, res: ServerResponse) => void);
      }
    }
    this.attachments.length = 0;
    for (const listener of this.tcpListeners) void listener.close();
    this.tcpListeners.clear();
    const settled = this.quiesceSessions(options.grace ?? 0);
    this.closing = settled === undefined ? this.closeSessions(options) : settled.then(() => this.closeSessions(options));
    return this.closing;
  }

  /** Graceful part of close(): resolves when no session has a frame in progress, or after `grace` ms. */
  private quiesceSessions(grace: number): Promise<void> | undefined {
    if (!(grace > 0)) return undefined;
    const pending: Promise<void>[] = [];
    for (const session of this.sessions.values()) {
      const inFlight = session.quiesce();
      if (inFlight !== undefined) pending.push(inFlight);
    }
    if (pending.length === 0) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, grace);
      void Promise.all(pending).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private closeSessions(options: CloseOptions): Promise<void> {
    const message = options.message ?? 'server shutting down';
    for (const session of [...this.sessions.values()]) {
      session.close(message, { kind: 'server-close', message });
    }
    const timeout = options.timeout ?? 5000;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wss.close();
        for (const endpoint of this.sockJsEndpoints.values()) endpoint.destroy();
        const brokerClosed = this.broker.shutdown?.();
        if (brokerClosed === undefined) resolve();
        else
          brokerClosed.then(resolve, (err: unknown) => {
            this.options.logger.error({ err }, 'closing the message broker failed');
            resolve();
          });
      };
      const timer = setTimeout(() => {
        for (const session of this.sessions.values()) session.terminate();
      }, timeout);
      timer.unref();
      const check = (): void => {
        if (this.openConnections === 0 && this.sessions.size === 0) {
          this.off('disconnect', check);
          done();
        }
      };
      this.on('disconnect', check);
      check();
    });
  }
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

export function createBroker(options?: BrokerOptions & WebSocketOptions): StompBroker {
  return new StompBroker(options);
}

function toReceived(message: BrokerMessage): ReceivedMessage {
  // Null prototype (headerRecord): a header named 'constructor' or '__proto__' is a header like any other.
  const headers = headerRecord(message.headers);
  return {
    destination: message.destination,
    headers,
    body: message.body,
    contentType: message.contentType,
    messageId: message.id,
    text: () => message.body.toString('utf8'),
    json: <T>() => JSON.parse(message.body.toString('utf8')) as T,
  };
}

export { CloseCode };
