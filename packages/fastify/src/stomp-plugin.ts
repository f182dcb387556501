/**
 * `fastify.register(stompPlugin, { broker, path })`: STOMP over WebSocket on a Fastify app, built
 * on @fastify/websocket (ws in noServer mode) and fastify-plugin, the way @fastify/websocket routes
 * do it: the upgrade is routed through Fastify, so every hook runs — auth plugins (@fastify/jwt,
 * @fastify/cookie + a session) decide who connects and a 401 from them refuses the upgrade — and
 * only then is the socket upgraded and handed to core.
 *
 * On the STOMP route: onRequest runs core's origin check (403), preHandler — after every auth hook
 * of the app — resolves the principal and runs the handshake interceptors (their refusal is an
 * ordinary Fastify reply with their status), and the WebSocket handler starts the session
 * (`broker.openSession`, which runs the interceptors' `after` hooks). `fastify.close()` drains the
 * sessions (`broker.close()`: ERROR 'server shutting down', then close).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import fastifyWebsocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { handleProtocols, principalResolver, type CloseOptions, type HandshakeResult, type Principal, type PrincipalMapping, type SockJsOptions, type StompBroker } from '@stompkit/core';
import { UpgradeGate } from './upgrade-gate';
import { mountInspector, type FastifyInspectorOptions } from './inspector';
import { mountSockJs } from './sockjs-routes';

export interface StompPluginOptions {
  /** The broker sessions are served by (`createBroker(...)`). Required. */
  broker: StompBroker;
  /** URL path of the STOMP endpoint (under the plugin's prefix, if any). Default '/ws'. */
  path?: string;
  /**
   * Who connects, read from the request after every auth hook ran (handshake interceptors may still
   * change it, and the `authenticate` hook on CONNECT may replace it). A function
   * `(request) => principal` (may be async), or the property of `request.user` that holds the name
   * (`'email'`). Default: the name is `request.user`'s string `name`, else `username`, else `sub`
   * (@fastify/jwt's decoded token), else a string or number `id`; the principal keeps the original
   * object as `details`. A `request.user` that yields no name is logged as a warning (anonymous session).
   */
  principal?: PrincipalMapping<FastifyRequest>;
  /** How `fastify.close()` closes the broker (`grace` for frames in progress, drain `timeout`, ERROR `message`). Default: broker.close() defaults. */
  shutdown?: CloseOptions;
  /**
   * Serves the inspector page at `inspector.path` (default '/stomp-inspector') and its data.json,
   * to requests `inspector.authorize(request)` allows (required; others get 403). It runs as a
   * preHandler, after the app's auth hooks. Default: not served.
   */
  inspector?: FastifyInspectorOptions;
  /**
   * Also serve SockJS clients (Spring's `withSockJS()`) at `sockjs.path` (default '/sockjs'):
   * `true` for the defaults, or SockJS options. Every SockJS request runs the app's hooks and the
   * origin check; the one that opens a session also `principal` and the handshake interceptors.
   * Default: off.
   */
  sockjs?: boolean | SockJsOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The broker's messaging template: `fastify.stomp.send('/topic/news', payload)`. */
    stomp: StompBroker['template'];
    /** The broker behind `fastify.stomp`. */
    stompBroker: StompBroker;
  }
}

type AcceptedHandshake = Extract<HandshakeResult, { accepted: true }>;

const plugin: FastifyPluginAsync<StompPluginOptions> = async (fastify, options) => {
  const { broker } = options;
  if (typeof broker?.handleUpgrade !== 'function' || typeof broker.handshake?.run !== 'function') throw new TypeError('@stompkit/fastify: options.broker must be a StompBroker (createBroker())');
  const path = options.path ?? '/ws';
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`@stompkit/fastify: path must start with '/', got ${String(path)}`);
  const logger = broker.options.logger;
  const principal = principalResolver<FastifyRequest>(options.principal, userOf, logger, (request) => ({ url: request.url }));
  const sockjs = options.sockjs === undefined || options.sockjs === false ? undefined : broker.sockJs(options.sockjs === true ? {} : options.sockjs);
  let gate: UpgradeGate | undefined;

  const drain = async (): Promise<void> => {
    await broker.close(options.shutdown);
  };

  if (fastify.hasDecorator('websocketServer')) {
    // The app registered @fastify/websocket itself: its ws server options and preClose apply.
    fastify.addHook('preClose', drain);
  } else {
    const upgradeGate = (gate = new UpgradeGate(logger));
    fastify.addHook('onRoute', (route) => {
      if (route.websocket === true || route.wsHandler !== undefined) upgradeGate.addRoute(route.url);
    });
    await fastify.register(fastifyWebsocket, {
      // Same ws settings as core's own server: no compression unless the broker enables it, core's
      // payload limit, and v12.stomp > v11.stomp > v10.stomp sub-protocol choice.
      options: { ...broker.webSocketOptions, handleProtocols, server: gate as unknown as Server },
      // Instead of the default (close every client with 1005): clients get ERROR, then close.
      preClose: async function preClose(this: FastifyInstance) {
        upgradeGate.close();
        await drain();
        this.websocketServer.close();
      },
    });
    upgradeGate.open(fastify.server);
    // An upgrade another path's hooks answered (an auth hook's 401 before the 404): the socket was
    // never an HTTP connection the server tracks, so close it here or fastify.close() waits forever.
    fastify.addHook('onResponse', async (request) => {
      if (request.raw.headers.upgrade !== undefined) request.raw.socket?.destroy();
    });
  }
  if (sockjs !== undefined) await mountSockJs(fastify, broker, sockjs, principal, gate, path);

  fastify.decorate('stomp', broker.template);
  fastify.decorate('stompBroker', broker);
  if (options.inspector !== undefined) mountInspector(fastify, broker, options.inspector);

  const handshakes = new WeakMap<IncomingMessage, AcceptedHandshake>();
  /** Upgrades core refused (origin, interceptors): core logged them already. */
  const refusedByCore = new WeakSet<IncomingMessage>();

  fastify.route({
    method: 'GET',
    url: path,
    websocket: true,
    onRequest: async (request, reply) => {
      if (!request.ws) return;
      const refused = broker.handshake.checkOrigin(request.raw);
      if (refused !== undefined) {
        refusedByCore.add(request.raw);
        return refuse(reply, refused.status, refused.reason ?? 'Forbidden');
      }
    },
    preHandler: async (request, reply) => {
      if (!request.ws) return;
      const user = await principal(request);
      const result = await broker.handshake.run(request.raw, { user, attributes: new Map() });
      if (!result.accepted) {
        refusedByCore.add(request.raw);
        return refuse(reply, result.status, result.reason);
      }
      handshakes.set(request.raw, result);
    },
    // A refused upgrade (by an auth hook, the origin check or an interceptor) is an ordinary reply;
    // then the socket must close. @fastify/websocket only does that when its own onRequest hook ran,
    // which an auth hook registered before it and replying early prevents.
    onResponse: async (request, reply) => {
      if (request.raw.headers.upgrade === undefined) return;
      if (reply.statusCode >= 400 && !refusedByCore.has(request.raw)) {
        logger.warn({ status: reply.statusCode, url: request.url }, 'websocket upgrade refused by a fastify hook');
      }
      request.raw.socket?.destroy();
    },
    handler: (socket: WebSocket, request: FastifyRequest) => {
      const socketOf = (socket as unknown as { _socket?: Duplex })._socket;
      const raw: Duplex | undefined = request.raw.socket ?? socketOf;
      if (raw === undefined) throw new Error('@stompkit/fastify: the upgraded request has no socket');
      broker.openSession(socket, raw, request.raw, handshakes.get(request.raw));
    },
  });
};

function refuse(reply: FastifyReply, status: number, reason: string): FastifyReply {
  return reply.code(status).header('connection', 'close').type('text/plain; charset=utf-8').send(reason);
}

/** `request.user` as @fastify/jwt (or an auth hook) sets it. */
function userOf(request: FastifyRequest): unknown {
  return (request as { user?: unknown }).user;
}

export const stompPlugin = fp(plugin, { fastify: '5.x', name: '@stompkit/fastify' });
