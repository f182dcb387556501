/**
 * `createInspector(broker, { authorize })`: a plain Node request handler serving the inspector
 * under a base path (default '/stomp-inspector'):
 *
 *   GET {path} or {path}/   the page (inline CSS/JS, polls data.json, draws a live chart)
 *   GET {path}/data.json    the snapshot (model.ts: sessions, subscriptions per destination,
 *                           queue depths, counters, message rates)
 *
 * Off by default: nothing is served unless the application mounts the handler. `authorize(req)`
 * is required and runs on every request under the path, before anything is looked at; a refusal
 * is 403, a throw is a 500 (logged). Requests outside the path go to `next()` (Express, Connect),
 * or get a 404 when there is no `next`.
 *
 *   const inspector = createInspector(broker, { authorize: (req) => isAdmin(req) });
 *   http.createServer((req, res) => inspector(req, res, () => app(req, res)));
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StompBroker } from '../stomp-broker';
import { requestPath } from '../transport/websocket';
import { InspectorModel, type InspectorModelOptions, type InspectorSnapshot } from './model';
import { JSON_HEADERS, pageHeaders, renderPage } from './page';

export interface InspectorOptions<Req extends IncomingMessage = IncomingMessage> extends InspectorModelOptions {
  /**
   * Decides who may see the inspector (it shows user names, addresses and destinations): return
   * true to allow; anything else is a 403. May be async. Required: there is no open default.
   */
  authorize: (req: Req) => boolean | Promise<boolean>;
  /** Base path. Default '/stomp-inspector'. */
  path?: string;
  /** How often the page polls, ms. Default 1000. */
  pollInterval?: number;
  /** Page title. Default 'stompkit inspector'. */
  title?: string;
}

/** A Node / Express / Connect request handler, with the model behind it. */
export interface Inspector<Req extends IncomingMessage = IncomingMessage> {
  (req: Req, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** The base path it serves. */
  readonly path: string;
  /** What data.json returns (no authorization: for code that already decided). */
  snapshot(): InspectorSnapshot;
  /** The page and its headers (a fresh CSP nonce each time; no authorization). */
  page(): { html: string; headers: Record<string, string> };
}

/** Validates the options every mount (core, Express, Fastify) shares; returns the normalized path. */
export function inspectorPath(options: { path?: string; authorize?: unknown } | undefined): string {
  if (typeof options?.authorize !== 'function') {
    throw new TypeError('the inspector needs an authorize(req) hook: it shows user names, addresses and destinations, so it is never open by default');
  }
  const path = options.path ?? '/stomp-inspector';
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`inspector path must start with '/', got ${String(path)}`);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

export function createInspector<Req extends IncomingMessage = IncomingMessage>(broker: StompBroker, options: InspectorOptions<Req>): Inspector<Req> {
  const path = inspectorPath(options);
  const { authorize } = options;
  const model = new InspectorModel(broker, options);
  const pageOptions = { title: options.title ?? 'stompkit inspector', pollInterval: options.pollInterval ?? 1000 };
  const logger = broker.options.logger;

  const page = (): { html: string; headers: Record<string, string> } => {
    const nonce = randomBytes(16).toString('base64');
    return { html: renderPage(pageOptions, nonce), headers: pageHeaders(nonce) };
  };

  const inspector = function stompInspector(req: Req, res: ServerResponse, next?: (err?: unknown) => void): void {
    // Express strips a mount path from req.url; originalUrl keeps it.
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const pathname = requestPath({ url } as IncomingMessage);
    const resource = pathname === path || pathname === path + '/' ? 'page' : pathname === path + '/data.json' ? 'data' : pathname.startsWith(path + '/') ? 'unknown' : undefined;
    if (resource === undefined) {
      if (next !== undefined) next();
      else send(res, 404, 'Not Found');
      return;
    }
    let allowed: boolean | Promise<boolean>;
    try {
      allowed = authorize(req);
    } catch (err) {
      refusedByError(err);
      return;
    }
    if (typeof (allowed as PromiseLike<boolean> | undefined)?.then === 'function') Promise.resolve(allowed).then(serve, refusedByError);
    else serve(allowed as boolean);

    function refusedByError(err: unknown): void {
      logger.error({ err, url }, 'inspector authorize() failed');
      send(res, 500, 'Internal Server Error');
    }

    function serve(ok: boolean): void {
      if (ok !== true) return send(res, 403, 'Forbidden');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return send(res, 405, 'Method Not Allowed');
      }
      if (resource === 'unknown') return send(res, 404, 'Not Found');
      let body: string;
      let headers: Record<string, string>;
      try {
        if (resource === 'page') ({ html: body, headers } = page());
        else {
          body = JSON.stringify(model.snapshot());
          headers = JSON_HEADERS;
        }
      } catch (err) {
        logger.error({ err, url }, 'inspector failed to build its response');
        return send(res, 500, 'Internal Server Error');
      }
      res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  } as Inspector<Req>;

  Object.defineProperties(inspector, {
    path: { value: path, enumerable: true },
    snapshot: { value: () => model.snapshot() },
    page: { value: page },
  });
  return inspector;
}

function send(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}
