/**
 * `stompExpress(broker, options)`: the Express middleware (`app.use(stomp)` puts the messaging
 * template on `req.stomp`) and `stomp.attach(server)`, the one line that hooks the HTTP server's
 * 'upgrade' event. Only upgrades for `path` are touched; other paths are left to other listeners
 * (a second `ws` server, a dev server's HMR socket), and get a 404 only when nobody else listens.
 *
 * An upgrade for `path` goes: origin check (core, before any auth work) → the `middleware` the app
 * already uses for auth → `principal(req)` → core's `handleUpgrade` (handshake interceptors, then
 * the session). Everything STOMP lives in core; this file is framework glue only.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Application, NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createInspector,
  principalResolver,
  requestPath,
  writeRejection,
  type CloseOptions,
  type InspectorOptions,
  type Principal,
  type PrincipalMapping,
  type SockJsEndpoint,
  type SockJsOptions,
  type StompBroker,
} from '@stompkit/core';
import { findExpressApp, runMiddleware, runMiddlewareOnRequest } from './run-middleware';

export interface StompExpressOptions {
  /** URL path of the STOMP endpoint. Default '/ws'. */
  path?: string;
  /**
   * Who connects, read from the upgrade request after `middleware` ran (handshake interceptors may
   * still change it, and the `authenticate` hook on CONNECT may replace it). A function
   * `(req) => principal` (may be async), or the property of `req.user` that holds the name
   * (`'email'`). Default: the name is `req.user`'s string `name`, else `username` (Passport), else
   * `sub` (JWT), else a string or number `id`; the principal keeps the original object as
   * `details`. A `req.user` that yields no name is logged as a warning (anonymous session).
   */
  principal?: PrincipalMapping<Request>;
  /**
   * Express middleware run, in order, against the upgrade request: the same session, passport or
   * JWT middleware the app uses, so the auth already in place decides who connects. One that answers
   * (e.g. 401) refuses the upgrade with that response; `next(err)` refuses with `err.status`
   * (default 500). Default: none.
   */
  middleware?: RequestHandler[];
  /**
   * Also serve SockJS clients (Spring's `withSockJS()`) at `sockjs.path` (default '/sockjs'):
   * `true` for the defaults, or SockJS options. Its HTTP requests are answered by `app.use(stomp)`
   * (mount it at the root, before any body parser), its WebSocket upgrades by `attach`. Every
   * SockJS request passes the origin check, `middleware` and `principal`; the one that opens a
   * session also the handshake interceptors, and its principal sticks to the session (a later
   * request of that session by another principal gets 403). Default: off.
   */
  sockjs?: boolean | SockJsOptions;
}

/** `stomp.inspector(options)`: core's InspectorOptions, with `authorize` given the Express request. */
export type ExpressInspectorOptions = InspectorOptions<Request>;

/** `app.use(stomp)` sets `req.stomp`; `stomp.attach(server)` serves STOMP on `server` at `path`. */
export interface StompExpress extends RequestHandler {
  readonly broker: StompBroker;
  readonly path: string;
  /** The SockJS endpoint when the `sockjs` option is on. */
  readonly sockjs: SockJsEndpoint | undefined;
  /**
   * Hooks `server`'s 'upgrade' event for `path` and returns the server (works with the server
   * `app.listen()` returns, `http.createServer(app)` and `https.createServer(options, app)`).
   * `app` gives `middleware` Express's request/response API; default: the Express app found among
   * the server's 'request' listeners.
   */
  attach<S extends HttpServer | HttpsServer>(server: S, app?: Application): S;
  /** Removes the 'upgrade' listener from `server`. */
  detach(server: HttpServer | HttpsServer): void;
  /** Detaches from every server, then closes the broker (sessions get ERROR 'server shutting down'; `grace` lets frames in progress finish first). */
  close(options?: CloseOptions): Promise<void>;
  /**
   * The inspector page as Express middleware, for `app.use(...)`: serves `path` (default
   * '/stomp-inspector') and `path`/data.json to requests `authorize(req)` allows (required; others
   * get 403); every other request goes on to `next()`. Run it after the app's auth middleware so
   * `authorize` can read `req.user`.
   */
  inspector(options: ExpressInspectorOptions): RequestHandler;
}

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function stompExpress(broker: StompBroker, options: StompExpressOptions = {}): StompExpress {
  const path = options.path ?? '/ws';
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`path must start with '/', got ${String(path)}`);
  const middleware = options.middleware ?? [];
  if (!Array.isArray(middleware) || middleware.some((m) => typeof m !== 'function')) {
    throw new TypeError('middleware must be an array of Express middleware functions');
  }
  const listeners = new Map<HttpServer | HttpsServer, UpgradeListener>();
  const logger = broker.options.logger;
  const sockjs = options.sockjs === undefined || options.sockjs === false ? undefined : broker.sockJs(options.sockjs === true ? {} : options.sockjs);

  /** A SockJS HTTP request: origin check, `middleware`, `principal` (the session's on its first request; checked against it on later ones). */
  async function sockJsRequest(endpoint: SockJsEndpoint, req: Request, res: Response): Promise<void> {
    const refused = broker.handshake.checkOrigin(req);
    if (refused !== undefined) {
      res.status(refused.status).set('Connection', 'close').type('text/plain').send(refused.reason ?? 'Forbidden');
      return;
    }
    if (req.readableEnded && req.method === 'POST') {
      logger.error({ url: req.url }, 'a body parser read a SockJS request before stompkit: mount app.use(stomp) before body parsers');
      res.status(500).type('text/plain').send('SockJS request body already consumed');
      return;
    }
    let user: Principal | undefined;
    try {
      const outcome = await runMiddlewareOnRequest(middleware, req, res);
      if (outcome.kind === 'answered') return;
      if (outcome.kind === 'error') {
        if (outcome.status >= 500) logger.error({ err: outcome.error, url: req.url }, 'express middleware failed on a SockJS request');
        res.status(outcome.status).set('Connection', 'close').type('text/plain').send(outcome.reason);
        return;
      }
      user = await principal(req);
    } catch (err) {
      logger.error({ err, url: req.url }, 'resolving the principal of a SockJS request failed');
      if (!res.headersSent) res.status(500).type('text/plain').send('Internal Server Error');
      return;
    }
    endpoint.handleRequest(req, res, { user, attributes: new Map() });
  }
  const principal = principalResolver<Request>(options.principal, userOf, logger, (req) => ({ url: req.url }));

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, app: Application | undefined): Promise<void> {
    const refused = broker.handshake.checkOrigin(req);
    if (refused !== undefined) {
      writeRejection(socket, refused.status, refused.reason ?? 'Forbidden');
      return;
    }
    // Node drops its own socket 'error' listener before emitting 'upgrade'.
    socket.on('error', destroySocket);
    let user: Principal | undefined;
    try {
      // With no middleware there is nothing to run, but an Express app's prototypes still give
      // `principal` and the interceptors the usual `req.get()`, `req.ip`, ... .
      if (middleware.length > 0 || app !== undefined) {
        const outcome = await runMiddleware(middleware, req, socket, app);
        if (outcome.kind === 'answered') {
          if (outcome.status !== undefined) logger.warn({ status: outcome.status, url: req.url }, 'websocket upgrade refused by an express middleware');
          return;
        }
        if (outcome.kind === 'error') {
          if (outcome.status >= 500) logger.error({ err: outcome.error, url: req.url }, 'express middleware failed on a websocket upgrade');
          else logger.warn({ status: outcome.status, url: req.url, reason: outcome.reason }, 'websocket upgrade refused by an express middleware');
          writeRejection(socket, outcome.status, outcome.reason);
          return;
        }
      }
      user = await principal(req as Request);
    } catch (err) {
      logger.error({ err, url: req.url }, 'resolving the principal of a websocket upgrade failed');
      writeRejection(socket, 500, 'Internal Server Error');
      return;
    } finally {
      socket.off('error', destroySocket);
    }
    if (socket.destroyed) return;
    if (sockjs !== undefined && requestPath(req) !== path) sockjs.handleUpgrade(req, socket, head, { user, attributes: new Map() });
    else broker.handleUpgrade(req, socket, head, { user, attributes: new Map() });
  }

  const stomp = function stompMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (sockjs !== undefined && sockjs.matches(req)) {
      void sockJsRequest(sockjs, req, res);
      return;
    }
    req.stomp = broker.template;
    next();
  } as StompExpress;

  Object.defineProperties(stomp, {
    broker: { value: broker, enumerable: true },
    path: { value: path, enumerable: true },
    sockjs: { value: sockjs, enumerable: true },
  });

  stomp.attach = function attach<S extends HttpServer | HttpsServer>(server: S, app?: Application): S {
    if (listeners.has(server)) return server;
    const listener: UpgradeListener = (req, socket, head) => {
      if (requestPath(req) === path || sockjs?.matches(req) === true) {
        void upgrade(req, socket, head, app ?? findExpressApp(server));
      } else if (server.listenerCount('upgrade') === 1) {
        logger.warn({ status: 404, url: req.url, path }, 'websocket upgrade refused: no STOMP endpoint at this path');
        writeRejection(socket, 404, 'Not Found');
      }
    };
    server.on('upgrade', listener);
    listeners.set(server, listener);
    return server;
  };

  stomp.detach = function detach(server: HttpServer | HttpsServer): void {
    const listener = listeners.get(server);
    if (listener === undefined) return;
    server.off('upgrade', listener);
    listeners.delete(server);
  };

  stomp.inspector = function inspector(inspectorOptions: ExpressInspectorOptions): RequestHandler {
    const handler = createInspector<Request>(broker, inspectorOptions);
    return (req, res, next) => handler(req, res, next);
  };

  stomp.close = async function close(closeOptions?: CloseOptions): Promise<void> {
    for (const server of [...listeners.keys()]) stomp.detach(server);
    await broker.close(closeOptions);
  };

  return stomp;
}

/** `req.user` as Passport or a JWT middleware sets it. */
function userOf(req: Request): unknown {
  return (req as { user?: unknown }).user;
}

function destroySocket(this: Duplex): void {
  this.destroy();
}
