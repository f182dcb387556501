/**
 * The entry point: `createBroker(options)` ties sessions, the inbound channel, the message broker
 * and the WebSocket transport together. Framework adapters (Express, Fastify) call the same
 * `handleUpgrade` entry point and add only framework glue.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { WebSocket, WebSocketServer } from 'ws';
import { SimpleBroker } from './broker/simple-broker';
import { createIdGenerator } from './broker/message-id';
import type { Broker, BrokerMessage, BrokerStats, Consumer, Delivery } from './broker/types';
import { InboundChannel } from './channel/inbound-channel';
import { resolveOptions, type BrokerOptions, type Principal, type ResolvedOptions } from './options';
import { StompSession, type CloseReason, type SessionHost } from './session/stomp-session';
import { CloseCode } from './session/connection';
import { MessagingTemplate, type Payload, type SendOptions } from './template';
import {
  createWebSocketServer,
  requestPath,
  WebSocketConnection,
  type WebSocketOptions,
} from './transport/websocket';

export interface AttachOptions extends WebSocketOptions {
  /** URL path of the STOMP endpoint. Default '/ws'. */
  path?: string;
}

export interface UpgradeOptions {
  /** Principal established by the framework's auth for this request. */
  user?: Principal;
  /** Session attributes, visible to handlers and interceptors for the session's life. */
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

export interface StompBrokerEvents {
  /** A session completed CONNECT (CONNECTED was sent). */
  connected: [session: StompSession];
  /** A session ended; fired exactly once per session, after its subscriptions were released. */
  disconnect: [session: StompSession, reason: CloseReason];
}

export interface CloseOptions {
  /** How long to wait for clients to close before their sockets are destroyed, ms. Default 5000. */
  timeout?: number;
  /** The ERROR `message` clients see. Default 'server shutting down'. */
  message?: string;
}

interface Attachment {
  server: HttpServer | HttpsServer;
  listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export class StompBroker extends EventEmitter<StompBrokerEvents> implements SessionHost {
  readonly options: ResolvedOptions;
  readonly broker: Broker;
  readonly channel: InboundChannel;
  readonly template: MessagingTemplate;
  /** Live sessions by id. */
  readonly sessions = new Map<string, StompSession>();
  readonly nextMessageId: () => string;

  private readonly wss: WebSocketServer;
  private readonly compression: boolean;
  private readonly attachments: Attachment[] = [];
  private readonly sockets = new Set<WebSocket>();
  private inProcessCounter = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(options: BrokerOptions & WebSocketOptions = {}) {
    super();
    this.options = resolveOptions(options);
    this.nextMessageId = createIdGenerator(options.nodeId);
    this.broker =
      options.broker ??
      new SimpleBroker({
        ...options.simpleBroker,
        queuePrefixes: this.options.queuePrefixes,
        nextId: this.nextMessageId,
        onConsumerError: (err, sessionId) =>
          this.options.logger.error({ err, sessionId }, 'a subscriber threw while receiving a message'),
      });
    this.channel = new InboundChannel(this.broker, this.options.brokerPrefixes);
    this.template = new MessagingTemplate((message) => this.channel.send(undefined, message), this.nextMessageId);
    this.compression = options.perMessageDeflate !== undefined && options.perMessageDeflate !== false;
    this.wss = createWebSocketServer({
      perMessageDeflate: options.perMessageDeflate,
      maxPayload: options.maxPayload ?? this.options.limits.maxFrameBytes + 16 * 1024,
    });
  }

  // ---- mounting ----------------------------------------------------------------------------------

  /**
   * Serves STOMP on `server` at `path` (default '/ws'). Upgrades for other paths are left to other
   * listeners; when no other listener exists they get a 404 instead of hanging.
   */
  attach(server: HttpServer | HttpsServer, options: { path?: string } = {}): this {
    const path = options.path ?? '/ws';
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (requestPath(req) === path) {
        this.handleUpgrade(req, socket, head);
      } else if (server.listenerCount('upgrade') === 1) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    server.on('upgrade', listener);
    this.attachments.push({ server, listener });
    return this;
  }

  /**
   * Completes a WebSocket upgrade the caller has decided belongs to STOMP (adapters call this after
   * their own routing and auth), and starts a session on it.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: UpgradeOptions = {}): void {
    if (this.closed) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.openSession(ws, socket, req, options));
  }

  /** Starts a STOMP session on an already-upgraded WebSocket (e.g. one handed over by @fastify/websocket). */
  openSession(ws: WebSocket, socket: Duplex, req: IncomingMessage | undefined, options: UpgradeOptions = {}): StompSession {
    const connection = new WebSocketConnection(ws, socket, this.compression);
    const session = new StompSession(this, connection, {
      id: randomUUID(),
      user: options.user,
      attributes: options.attributes,
      subprotocol: ws.protocol || undefined,
      remoteAddress: req?.socket.remoteAddress,
    });
    this.sessions.set(session.sessionId, session);
    this.sockets.add(ws);
    ws.on('message', (data: Buffer) => session.receive(data));
    ws.on('close', (code: number) => {
      this.sockets.delete(ws);
      session.transportClosed(code);
    });
    ws.on('error', (err: Error) => {
      // ws closes the connection itself (e.g. 1007 for invalid UTF-8, 1009 for oversize); we only log.
      this.options.logger.debug({ err, sessionId: session.sessionId }, 'websocket error');
    });
    if (this.closed) session.close('server shutting down', { kind: 'server-close', message: 'server shutting down' });
    return session;
  }

  // ---- SessionHost -------------------------------------------------------------------------------

  sessionConnected(session: StompSession): void {
    this.emit('connected', session);
  }

  sessionClosed(session: StompSession, reason: CloseReason): void {
    this.sessions.delete(session.sessionId);
    this.emit('disconnect', session, reason);
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
    const result = this.channel.subscribe({ ...consumer, user: undefined, attributes: new Map() }, { id, destination, ack: 'auto' });
    if (result instanceof Promise) result.catch((err) => this.options.logger.error({ err, destination }, 'in-process subscribe failed'));
    return () => {
      void this.broker.disconnect(id);
    };
  }

  stats(): BrokerStats & { sessions: number } {
    return { ...this.broker.stats(), sessions: this.sessions.size };
  }

  /**
   * Stops accepting connections, tells every connected client (ERROR `message:server shutting
   * down`), flushes, and resolves once every socket closed or `timeout` passed (then destroys the rest).
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    for (const { server, listener } of this.attachments) server.off('upgrade', listener);
    this.attachments.length = 0;
    const message = options.message ?? 'server shutting down';
    for (const session of [...this.sessions.values()]) {
      session.close(message, { kind: 'server-close', message });
    }
    const timeout = options.timeout ?? 5000;
    this.closing = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wss.close();
        resolve();
      };
      const timer = setTimeout(() => {
        for (const ws of this.sockets) ws.terminate();
      }, timeout);
      timer.unref();
      const check = (): void => {
        if (this.sockets.size === 0 && this.sessions.size === 0) {
          this.off('disconnect', check);
          done();
        }
      };
      this.on('disconnect', check);
      check();
    });
    return this.closing;
  }
}

export function createBroker(options?: BrokerOptions & WebSocketOptions): StompBroker {
  return new StompBroker(options);
}

function toReceived(message: BrokerMessage): ReceivedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of message.headers) if (!(name in headers)) headers[name] = value;
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
