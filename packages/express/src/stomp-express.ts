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
  type StompBroker,
} from '@stompkit/core';
import { findExpressApp, runMiddleware } from './run-middleware';

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
}

/** `stomp.inspector(options)`: core's InspectorOptions, with `authorize` given the Express request. */
export type ExpressInspectorOptions = InspectorOptions<Request>;

/** `app.use(stomp)` sets `req.stomp`; `stomp.attach(server)` serves STOMP on `server` at `path`. */
export interface StompExpress extends RequestHandler {
  readonly broker: StompBroker;
  readonly path: string;
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
    broker.handleUpgrade(req, socket, head, { user, attributes: new Map() });
  }

  const stomp = function stompMiddleware(req: Request, _res: Response, next: NextFunction): void {
    req.stomp = broker.template;
    next();
  } as StompExpress;

  Object.defineProperties(stomp, {
    broker: { value: broker, enumerable: true },
    path: { value: path, enumerable: true },
  });

  stomp.attach = function attach<S extends HttpServer | HttpsServer>(server: S, app?: Application): S {
    if (listeners.has(server)) return server;
    const listener: UpgradeListener = (req, socket, head) => {
      if (requestPath(req) === path) {
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
