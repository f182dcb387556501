/**
 * Runs Express middleware (session cookie, passport, a JWT check) against a WebSocket upgrade
 * request, so the auth an app already has decides who may connect.
 *
 * Node hands an upgrade to the server's 'upgrade' listeners with no response object, so one is
 * made the way @fastify/websocket does it: a ServerResponse bound to the raw socket. A middleware
 * that answers (401 from passport, a redirect) writes a complete HTTP response there and the
 * socket closes after it; `next(err)` becomes a response with the error's status. When the
 * server's Express app is known, the request and response get its prototypes first (as
 * `app.handle` does), so `res.status(401).json(...)`, `req.get()` and 'trust proxy' work as in
 * any route. `req.query` is a getter on Express 5's request prototype, but on Express 4 it is set by
 * the router's query middleware, which never sees an upgrade, so it is set here the same way.
 */
import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Application, RequestHandler } from 'express';

export type MiddlewareOutcome =
  /** Every middleware called next(): the upgrade may go on (the socket is free again). */
  | { kind: 'next' }
  /** A middleware answered the request itself with `status` (the socket closes once the response is written), or the client left (no status). */
  | { kind: 'answered'; status?: number }
  /** A middleware called next(err) or threw: answer with this status. */
  | { kind: 'error'; status: number; reason: string; error: unknown };

/** The Express app behind a server: the 'request' listener `app.listen()` / `createServer(app)` installed. */
export function findExpressApp(server: { listeners(event: 'request'): Function[] }): Application | undefined {
  for (const listener of server.listeners('request')) {
    if (isExpressApp(listener)) return listener;
  }
  return undefined;
}

/** The parts of an Express app (4 or 5) used here; `request`/`response` are the prototypes `app.handle` sets. */
interface ExpressAppShape {
  handle: unknown;
  set: unknown;
  request: object;
  response: object;
}

function isExpressApp(fn: unknown): fn is Application {
  if (typeof fn !== 'function') return false;
  const app = fn as unknown as Partial<ExpressAppShape>;
  return typeof app.handle === 'function' && typeof app.set === 'function' && typeof app.request === 'object' && typeof app.response === 'object';
}

export function runMiddleware(
  middleware: readonly RequestHandler[],
  req: IncomingMessage,
  socket: Duplex,
  app: Application | undefined,
): Promise<MiddlewareOutcome> {
  const res = new ServerResponse(req);
  res.assignSocket(socket as never);
  res.shouldKeepAlive = false;
  if (app !== undefined) {
    const r = req as IncomingMessage & { res?: ServerResponse };
    const s = res as ServerResponse & { req?: IncomingMessage; locals?: object };
    r.res = res;
    s.req = req;
    const shape = app as unknown as ExpressAppShape;
    Object.setPrototypeOf(req, shape.request);
    Object.setPrototypeOf(res, shape.response);
    s.locals ??= Object.create(null);
    if (!('query' in req)) (req as IncomingMessage & { query?: unknown }).query = parseQuery(app, req.url ?? '');
  }
  return new Promise<MiddlewareOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: MiddlewareOutcome): void => {
      if (settled) return;
      settled = true;
      res.off('finish', onFinish);
      socket.off('close', onClose);
      if (outcome.kind !== 'answered') res.detachSocket(socket as never);
      resolve(outcome);
    };
    const onFinish = (): void => {
      socket.destroy();
      settle({ kind: 'answered', status: res.statusCode });
    };
    // The client went away while a middleware was still working: nothing left to do.
    const onClose = (): void => settle({ kind: 'answered' });
    res.on('finish', onFinish);
    socket.on('close', onClose);

    runChain(middleware, req, res, settle, () => settled);
  });
}

/**
 * Calls `middleware` in order as Express's router does: error handlers (four parameters) are not
 * part of this chain, `next('route')` / `next('router')` go on, `next(err)` and a throw or rejection
 * end it with an error outcome, and the end of the chain is `next`. A middleware that answered is
 * left alone: the caller's 'finish' listener settles.
 */
function runChain(
  middleware: readonly RequestHandler[],
  req: IncomingMessage,
  res: ServerResponse,
  settle: (outcome: MiddlewareOutcome) => void,
  settled: () => boolean,
): void {
  let index = 0;
  const next = (err?: unknown): void => {
    if (settled()) return;
    if (res.headersSent || res.writableEnded) return; // answered; 'finish' settles
    if (err !== undefined && err !== 'route' && err !== 'router') {
      settle(errorOutcome(err));
      return;
    }
    let handler = middleware[index++];
    while (handler !== undefined && handler.length === 4) handler = middleware[index++]; // error handlers: not in this chain
    if (handler === undefined) {
      settle({ kind: 'next' });
      return;
    }
    try {
      const result: unknown = handler(req as never, res as never, next);
      if (result instanceof Promise) result.then(undefined, (e: unknown) => next(e ?? new Error('rejected')));
    } catch (e) {
      next(e ?? new Error('thrown'));
    }
  };
  next();
}

/** Express 4's query middleware: the app's 'query parser fn' setting applied to the query string. */
function parseQuery(app: Application, url: string): unknown {
  const parse: unknown = app.get('query parser fn');
  const start = url.indexOf('?');
  if (start === -1 || typeof parse !== 'function') return {};
  const end = url.indexOf('#', start);
  return parse(url.slice(start + 1, end === -1 ? undefined : end));
}

/** Express's own convention (finalhandler): `status`/`statusCode` when 4xx/5xx, the message only below 500. */
function errorOutcome(error: unknown): MiddlewareOutcome {
  const e = error as { status?: unknown; statusCode?: unknown; message?: unknown } | null;
  const candidate = typeof e?.status === 'number' ? e.status : e?.statusCode;
  const status = typeof candidate === 'number' && Number.isInteger(candidate) && candidate >= 400 && candidate <= 599 ? candidate : 500;
  const reason = status < 500 && typeof e?.message === 'string' && e.message !== '' ? e.message : STATUS_CODES[status] ?? 'Error';
  return { kind: 'error', status, reason, error };
}

/**
 * Runs `middleware` on an ordinary HTTP request (a SockJS request under the SockJS path), with its
 * own response: the same outcomes as runMiddleware, without borrowing the socket.
 */
export function runMiddlewareOnRequest(middleware: readonly RequestHandler[], req: IncomingMessage, res: ServerResponse): Promise<MiddlewareOutcome> {
  return new Promise<MiddlewareOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: MiddlewareOutcome): void => {
      if (settled) return;
      settled = true;
      res.off('finish', onAnswered);
      res.off('close', onAnswered);
      resolve(outcome);
    };
    const onAnswered = (): void => settle({ kind: 'answered' });
    res.on('finish', onAnswered);
    res.on('close', onAnswered);
    runChain(middleware, req, res, settle, () => settled);
  });
}
