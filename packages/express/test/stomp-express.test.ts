/**
 * @stompkit/express end to end, once per Express major: the same tests on an Express 5 app (the
 * `express` devDependency) and on an Express 4 app (the root devDependency `express4`, an npm alias
 * of express@4), each on an ephemeral loopback port, with real WebSocket clients (@stomp/stompjs 7
 * over ws, raw ws) for the STOMP side and supertest for the HTTP side.
 *
 * Express 4 ships no types and the @types/express installed here describes 5, so the apps of both
 * majors are typed through the adapter's own parameter types.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createBroker, type BrokerOptions, type StompBroker, type StompSession } from '@stompkit/core';
import { stompExpress, type StompExpress, type StompExpressOptions } from '@stompkit/express';
import { RawClient } from '../../core/test/helpers/raw-client';
import { nextEvent, openWs, refusedUpgrade, stompjsConnect, subscribeOnce } from '../../core/test/transport/ws-helpers';
import { closeAfterEach } from './support';

type Server = HttpServer | HttpsServer;
type App = NonNullable<Parameters<StompExpress['attach']>[1]>;
type Middleware = NonNullable<StompExpressOptions['middleware']>[number];

/** What an app needs of an Express major: `express()` and `express.json()`. */
interface ExpressFactory {
  (): App;
  json(): Middleware;
}

/** The Express of the package `name` and the version its package.json gives. */
function loadExpress(name: 'express' | 'express4'): { express: ExpressFactory; version: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const express = require(name) as ExpressFactory;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require(`${name}/package.json`) as { version: string };
  return { express, version };
}

/** A query string with nested and repeated keys, which the two majors' default query parsers read differently. */
const QUERY = '?access_token=bob&room[id]=7&tag=a&tag=b';

const majors = [
  {
    major: '5',
    ...loadExpress('express'),
    /** Express 5's default query parser, 'simple' (node:querystring): no nesting. */
    parsedQuery: { access_token: 'bob', 'room[id]': '7', tag: ['a', 'b'] },
  },
  {
    major: '4',
    ...loadExpress('express4'),
    /** Express 4's default query parser, 'extended' (qs): brackets nest. */
    parsedQuery: { access_token: 'bob', room: { id: '7' }, tag: ['a', 'b'] },
  },
];

/** A self-signed certificate for localhost / 127.0.0.1, for tests only. */
const tls = {
  key: readFileSync(join(__dirname, 'fixtures', 'localhost-key.pem')),
  cert: readFileSync(join(__dirname, 'fixtures', 'localhost-cert.pem')),
};

interface Running {
  app: App;
  broker: StompBroker;
  stomp: StompExpress;
  server: Server;
  port: number;
  url: string;
}

interface StartOptions {
  broker?: BrokerOptions;
  stomp?: StompExpressOptions;
  setup?: (app: App) => void;
  via?: 'app.listen' | 'createServer' | 'https';
}

const { running, clients } = closeAfterEach<Running>();

/** An app of `express` with `app.use(stomp)`, listening via `app.listen()` (default) or `http.createServer(app)`. */
async function startApp(express: ExpressFactory, options: StartOptions): Promise<Running> {
  const broker = createBroker({ heartbeat: [0, 0], logger: false, ...options.broker });
  const stomp = stompExpress(broker, options.stomp);
  const app = express();
  app.use(express.json());
  app.use(stomp);
  app.get('/health', (_req, res) => void res.json({ ok: true }));
  app.get('/template', (req, res) => void res.json({ send: typeof req.stomp?.send }));
  app.get('/query', (req, res) => void res.json(req.query));
  app.post('/announce', async (req, res) => {
    await req.stomp.send('/topic/news', req.body);
    res.status(202).json({ sent: true });
  });
  options.setup?.(app);
  let server: Server;
  if (options.via === 'createServer' || options.via === 'https') {
    server = options.via === 'https' ? createHttpsServer(tls, app) : createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  } else {
    await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
  }
  stomp.attach(server!);
  const port = (server!.address() as AddressInfo).port;
  const scheme = options.via === 'https' ? 'wss' : 'ws';
  const r: Running = { app, broker, stomp, server: server!, port, url: `${scheme}://127.0.0.1:${port}${stomp.path}` };
  running.push(r);
  return r;
}

async function connect(url: string, wsOptions = {}, connectHeaders: Record<string, string> = {}) {
  const c = await stompjsConnect(url, { connectHeaders }, wsOptions);
  clients.push(c.client);
  return c;
}

function upgradeRequest(server: Server, path = '/ws') {
  return request(server)
    .get(path)
    .set('Connection', 'Upgrade')
    .set('Upgrade', 'websocket')
    .set('Sec-WebSocket-Version', '13')
    .set('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==');
}

/** A stand-in for a JWT middleware: `Authorization: Bearer <name>` → req.user; 401 JSON otherwise. */
function fakeJwt(req: Request, res: Response, next: NextFunction): void {
  const match = /^Bearer (\w+)$/.exec(req.get('authorization') ?? '');
  if (match === null) {
    res.status(401).json({ error: 'missing token' });
    return;
  }
  (req as Request & { user?: unknown }).user = { name: match[1], roles: ['user'] };
  next();
}

/** A stand-in for a session cookie middleware (cookie-parser + session lookup). */
function fakeSessionCookie(req: Request, _res: Response, next: NextFunction): void {
  const sid = /(?:^|;\s*)sid=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
  (req as Request & { session?: unknown }).session = sid === undefined ? undefined : { sid, login: `user-${sid}` };
  next();
}

describe.each(majors)('on Express $major', ({ major, express, version, parsedQuery }) => {
  /** An app of this major; see startApp. */
  const start = (options: StartOptions = {}): Promise<Running> => startApp(express, options);

  it(`runs on Express ${major} (the package is not another major)`, () => {
    expect(version.split('.')[0]).toBe(major);
  });

  describe('mounting', () => {
    it('works with the server app.listen() returns', async () => {
      const r = await start({ via: 'app.listen' });
      const { headers } = await connect(r.url);
      expect(headers.version).toBe('1.2');
    });

    it('works with http.createServer(app)', async () => {
      const r = await start({ via: 'createServer' });
      const { headers } = await connect(r.url);
      expect(headers.version).toBe('1.2');
    });

    it('works with https.createServer(options, app) (wss://)', async () => {
      const r = await start({ via: 'https' });
      const { client, headers } = await connect(r.url, { ca: tls.cert });
      expect(headers.version).toBe('1.2');
      const { message } = await subscribeOnce(client, '/topic/news');
      await request(r.server).post('/announce').ca(tls.cert).send({ over: 'tls' }).expect(202);
      expect(JSON.parse((await message).body)).toEqual({ over: 'tls' });
    });

    it('keeps the other routes of the app working', async () => {
      const r = await start();
      await request(r.server).get('/health').expect(200, { ok: true });
    });

    it('serves a custom path and leaves /ws alone', async () => {
      const r = await start({ stomp: { path: '/stomp' } });
      expect(r.url.endsWith('/stomp')).toBe(true);
      await connect(r.url);
      expect((await refusedUpgrade(`ws://127.0.0.1:${r.port}/ws`)).status).toBe(404);
    });

    it('keeps a second WebSocket server on another path of the same HTTP server working', async () => {
      const r = await start();
      const echo = new WebSocketServer({ noServer: true });
      echo.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(`echo:${data.toString()}`)));
      r.server.on('upgrade', (req, socket, head) => {
        if (req.url === '/echo') echo.handleUpgrade(req, socket, head, (ws) => echo.emit('connection', ws, req));
      });
      try {
        const other = await openWs(`ws://127.0.0.1:${r.port}/echo`, {}, []);
        const reply = nextEvent<[Buffer]>(other, 'message');
        other.send('hi');
        expect((await reply)[0].toString()).toBe('echo:hi');
        // STOMP still works next to it.
        const { headers } = await connect(r.url);
        expect(headers.version).toBe('1.2');
        other.close();
      } finally {
        echo.close();
      }
    });

    it('answers 404 to an upgrade for another path when nobody else listens', async () => {
      const r = await start();
      expect((await refusedUpgrade(`ws://127.0.0.1:${r.port}/nope`)).status).toBe(404);
    });
  });

  describe('publishing from routes', () => {
    it('a POST route publishes through req.stomp to a subscribed @stomp/stompjs client', async () => {
      const r = await start();
      const { client } = await connect(r.url);
      const { message } = await subscribeOnce(client, '/topic/news');
      await request(r.server).post('/announce').send({ title: 'hello' }).expect(202, { sent: true });
      const m = await message;
      expect(JSON.parse(m.body)).toEqual({ title: 'hello' });
      expect(m.headers['content-type']).toBe('application/json');
    });

    it('sets req.stomp in a normal route', async () => {
      const r = await start();
      await request(r.server).get('/template').expect(200, { send: 'function' });
    });
  });

  describe('origins', () => {
    it('refuses a cross-site upgrade with 403 (ws client and supertest)', async () => {
      const r = await start();
      const refusal = await refusedUpgrade(r.url, { origin: 'https://evil.example' });
      expect(refusal).toMatchObject({ status: 403, body: 'Origin not allowed' });
      const res = await upgradeRequest(r.server).set('Origin', 'https://evil.example');
      expect(res.status).toBe(403);
      expect(res.text).toBe('Origin not allowed');
    });

    it('refuses a bad origin before running the auth middleware', async () => {
      const seen: string[] = [];
      const r = await start({ stomp: { middleware: [(req, _res, next) => (seen.push(req.url), next())] } });
      expect((await refusedUpgrade(r.url, { origin: 'https://evil.example' })).status).toBe(403);
      expect(seen).toEqual([]);
    });

    it('accepts same-origin and allowed patterns', async () => {
      const r = await start({ broker: { allowedOrigins: ['https://*.example.com'] } });
      await connect(r.url, { origin: `http://127.0.0.1:${r.port}` });
      await connect(r.url, { origin: 'https://app.example.com' });
      expect((await refusedUpgrade(r.url, { origin: 'https://example.org' })).status).toBe(403);
    });
  });

  describe('handshake interceptors', () => {
    it('answers a refusal with its status and reason (ws client and supertest)', async () => {
      const r = await start({
        broker: { handshake: [{ before: async (req) => (req.headers['x-plan'] === 'pro' ? true : { status: 402, reason: 'upgrade your plan' }) }] },
      });
      expect(await refusedUpgrade(r.url)).toMatchObject({ status: 402, body: 'upgrade your plan' });
      const res = await upgradeRequest(r.server);
      expect(res.status).toBe(402);
      expect(res.text).toBe('upgrade your plan');
      await connect(r.url, { headers: { 'x-plan': 'pro' } });
    });

    it('sees what the Express middleware established, and its attributes last for the session', async () => {
      const r = await start({
        stomp: { middleware: [fakeSessionCookie] },
        broker: {
          handshake: [
            {
              before: (req, ctx) => {
                const session = (req as Request & { session?: { sid: string } }).session;
                if (session === undefined) return { status: 401, reason: 'no session' };
                ctx.attributes.set('sid', session.sid);
              },
            },
          ],
        },
      });
      expect(await refusedUpgrade(r.url)).toMatchObject({ status: 401, body: 'no session' });
      const connected = nextEvent<[StompSession]>(r.broker, 'connected');
      await connect(r.url, { headers: { cookie: 'theme=dark; sid=abc123' } });
      const [session] = await connected;
      expect(session.attributes.get('sid')).toBe('abc123');
    });
  });

  describe('principal', () => {
    it('comes from a JWT-style middleware (req.user) into CONNECTED user-name', async () => {
      const r = await start({ stomp: { middleware: [fakeJwt] } });
      const connected = nextEvent<[StompSession]>(r.broker, 'connected');
      const { headers } = await connect(r.url, { headers: { authorization: 'Bearer alice' } });
      expect(headers['user-name']).toBe('alice');
      const [session] = await connected;
      expect(session.user).toEqual({ name: 'alice', roles: ['user'] });
    });

    it('comes from a Passport-style req.user with username (no name): the principal keeps the user as details, which never reach a header', async () => {
      const passportSession = (req: Request, _res: Response, next: NextFunction): void => {
        // What passport.session() leaves after deserializeUser: the app's own user record.
        (req as Request & { user?: unknown }).user = { id: 7, username: 'ada', email: 'ada@example.com', passwordHash: 'secret-hash' };
        next();
      };
      const r = await start({ stomp: { middleware: [passportSession] } });
      const connected = nextEvent<[StompSession]>(r.broker, 'connected');
      const { client, headers } = await connect(r.url);
      expect(headers['user-name']).toBe('ada');
      const [session] = await connected;
      expect(session.user).toEqual({ name: 'ada', details: { id: 7, username: 'ada', email: 'ada@example.com', passwordHash: 'secret-hash' } });
      expect(r.broker.users.isOnline('ada')).toBe(true);
      const { message } = await subscribeOnce(client, '/user/queue/dm');
      await r.broker.template.sendToUser('ada', '/queue/dm', { text: 'hi Ada' });
      const dm = await message;
      expect(dm.body).toBe('{"text":"hi Ada"}');
      expect(JSON.stringify(headers) + JSON.stringify(dm.headers)).not.toMatch(/secret-hash|ada@example\.com|details/);
    });

    it('takes the name from the user field the principal option names', async () => {
      const r = await start({
        stomp: { middleware: [(req, _res, next) => (((req as Request & { user?: unknown }).user = { username: 'ada', email: 'ada@example.com' }), next())], principal: 'email' },
      });
      const { headers } = await connect(r.url);
      expect(headers['user-name']).toBe('ada@example.com');
    });

    it('logs a warning when an authenticated request yields no name, and connects anonymously', async () => {
      const warnings: unknown[][] = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (...args: unknown[]) => void warnings.push(args) };
      const r = await start({
        broker: { logger },
        stomp: { middleware: [(req, _res, next) => (((req as Request & { user?: unknown }).user = { roles: ['admin'], verified: true }), next())] },
      });
      const { headers } = await connect(r.url);
      expect(headers['user-name']).toBeUndefined();
      expect(warnings).toEqual([
        [
          { url: '/ws', userFields: 'roles,verified' },
          "an authenticated upgrade has a user object without a name (tried name, username, sub, id); it connects anonymously. Set the adapter's principal option",
        ],
      ]);
    });

    it('comes from a middleware reading the token from req.query, as a browser app sends it', async () => {
      const queryToken = (req: Request, res: Response, next: NextFunction): void => {
        const token = req.query.access_token;
        if (typeof token !== 'string' || token === '') {
          res.status(401).json({ error: 'missing access_token' });
          return;
        }
        (req as Request & { user?: unknown }).user = { name: token };
        next();
      };
      const r = await start({ stomp: { middleware: [queryToken] } });
      const { headers } = await connect(`${r.url}?access_token=bob`);
      expect(headers['user-name']).toBe('bob');
      expect(await refusedUpgrade(r.url)).toMatchObject({ status: 401, body: JSON.stringify({ error: 'missing access_token' }) });
    });

    it("sees the same req.query in the upgrade middleware as a route of the same app does (the app's query parser)", async () => {
      const seen: unknown[] = [];
      const r = await start({ stomp: { middleware: [(req, _res, next) => (seen.push(req.query), next())] } });
      const route = await request(r.server).get(`/query${QUERY}`).expect(200);
      expect(route.body).toEqual(parsedQuery);
      await connect(`${r.url}${QUERY}`);
      await connect(r.url);
      expect(JSON.parse(JSON.stringify(seen))).toEqual([parsedQuery, {}]);
    });

    it('a middleware answering 401 (res.status().json()) refuses the upgrade with that response', async () => {
      const r = await start({ stomp: { middleware: [fakeJwt] } });
      const refusal = await refusedUpgrade(r.url);
      expect(refusal.status).toBe(401);
      expect(JSON.parse(refusal.body)).toEqual({ error: 'missing token' });
      expect(r.broker.sessions.size).toBe(0);
      const res = await upgradeRequest(r.server);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'missing token' });
    });

    it('logs upgrades refused by a middleware (401) and for an unknown path (404) as warnings', async () => {
      const warnings: unknown[][] = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (...args: unknown[]) => void warnings.push(args) };
      const r = await start({ broker: { logger }, stomp: { middleware: [fakeJwt] } });
      expect((await refusedUpgrade(r.url)).status).toBe(401);
      expect((await refusedUpgrade(r.url.replace('/ws', '/elsewhere'))).status).toBe(404);
      expect(warnings).toEqual([
        [{ status: 401, url: '/ws' }, 'websocket upgrade refused by an express middleware'],
        [{ status: 404, url: '/elsewhere', path: '/ws' }, 'websocket upgrade refused: no STOMP endpoint at this path'],
      ]);
    });

    it("a middleware's next(err) refuses with err.status and its message (below 500)", async () => {
      const denied = Object.assign(new Error('token expired'), { status: 401 });
      const r = await start({ stomp: { middleware: [(_req, _res, next) => next(denied)] } });
      expect(await refusedUpgrade(r.url)).toMatchObject({ status: 401, body: 'token expired' });
    });

    it('an async middleware that rejects refuses with 500, without leaking the error', async () => {
      const r = await start({
        stomp: {
          middleware: [
            async () => {
              throw new Error('session store down: redis://secret');
            },
          ],
        },
      });
      expect(await refusedUpgrade(r.url)).toMatchObject({ status: 500, body: 'Internal Server Error' });
    });

    it('comes from a custom principal function (async allowed)', async () => {
      const r = await start({
        stomp: {
          middleware: [fakeSessionCookie],
          principal: async (req) => {
            const session = (req as Request & { session?: { login: string } }).session;
            return session === undefined ? undefined : { name: session.login };
          },
        },
      });
      const { headers } = await connect(r.url, { headers: { cookie: 'sid=42' } });
      expect(headers['user-name']).toBe('user-42');
      const anonymous = await connect(r.url);
      expect(anonymous.headers['user-name']).toBeUndefined();
    });

    it("gets the app's request API (req.app, req.get) in principal even without middleware", async () => {
      let seenApp: unknown;
      const r = await start({
        stomp: {
          principal: (req) => {
            seenApp = req.app;
            return req.get('x-user') ? { name: req.get('x-user')! } : undefined;
          },
        },
      });
      const { headers } = await connect(r.url, { headers: { 'x-user': 'hank' } });
      expect(headers['user-name']).toBe('hank');
      expect(seenApp).toBe(r.app);
    });

    it('comes from CONNECT login/passcode through the authenticator; a refused CONNECT gets ERROR and close', async () => {
      const r = await start({
        broker: { authenticate: async ({ login, passcode }) => (passcode === 'pw' ? { name: login ?? 'anon' } : false) },
      });
      const { headers } = await connect(r.url, {}, { login: 'carol', passcode: 'pw' });
      expect(headers['user-name']).toBe('carol');
      const raw = await RawClient.open(r.url);
      raw.send('CONNECT', { 'accept-version': '1.2', host: 'h', login: 'carol', passcode: 'nope' });
      await raw.expectError('authentication failed');
      expect(raw.frames.map((f) => f.command)).toEqual(['ERROR']);
    });
  });

  describe('shutdown', () => {
    it('stomp.close() tells connected clients (ERROR server shutting down) and closes them', async () => {
      const r = await start();
      const raw = await RawClient.connect(r.url);
      await r.stomp.close({ timeout: 1000 });
      await raw.expectError('server shutting down');
      // Detached: the HTTP server no longer upgrades /ws.
      expect(r.server.listenerCount('upgrade')).toBe(0);
    });
  });
});
