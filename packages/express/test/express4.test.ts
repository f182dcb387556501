/**
 * @stompkit/express on Express 4 end to end: the same adapter the Express 5 suite drives, on an
 * Express 4 app (the root devDependency `express4`, an npm alias of express@4) listening on an
 * ephemeral loopback port, with real WebSocket clients (@stomp/stompjs 7, the raw client, ws) for
 * the STOMP side and supertest for the HTTP side.
 *
 * Express 4 ships no types and the @types/express installed here describes 5, so the Express 4
 * app and middleware are typed through the adapter's own parameter types.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@stomp/stompjs';
import request from 'supertest';
import { createBroker, type BrokerOptions, type StompBroker, type StompSession } from '@stompkit/core';
import { stompExpress, type StompExpress, type StompExpressOptions } from '@stompkit/express';
import { RawClient } from '../../core/test/helpers/raw-client';
import { nextEvent, refusedUpgrade, stompjsConnect, subscribeOnce } from '../../core/test/transport/ws-helpers';

type App = NonNullable<Parameters<StompExpress['attach']>[1]>;
type Middleware = NonNullable<StompExpressOptions['middleware']>[number];

// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as { (): App; json(): Middleware };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4Version = (require('express4/package.json') as { version: string }).version;

interface Running {
  app: App;
  broker: StompBroker;
  stomp: StompExpress;
  server: Server;
  port: number;
  url: string;
}

const running: Running[] = [];
const clients: Client[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  for (const r of running.splice(0)) {
    await r.stomp.close({ timeout: 1000 });
    r.server.closeAllConnections();
    await new Promise<void>((resolve) => r.server.close(() => resolve()));
  }
});

/** An Express 4 app with `app.use(stomp)`, listening via `app.listen()` (default) or `http.createServer(app)`. */
async function start(
  options: { broker?: BrokerOptions; stomp?: StompExpressOptions; via?: 'app.listen' | 'createServer' } = {},
): Promise<Running> {
  const broker = createBroker({ heartbeat: [0, 0], ...options.broker });
  const stomp = stompExpress(broker, options.stomp);
  const app = express4();
  app.use(express4.json());
  app.use(stomp);
  app.get('/template', (req, res) => void res.json({ send: typeof req.stomp?.send }));
  app.get('/query', (req, res) => void res.json(req.query));
  app.post('/announce', async (req, res) => {
    await req.stomp.send('/topic/news', req.body);
    res.status(202).json({ sent: true });
  });
  let server!: Server;
  if (options.via === 'createServer') {
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  } else {
    await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
  }
  stomp.attach(server);
  const port = (server.address() as AddressInfo).port;
  const r: Running = { app, broker, stomp, server, port, url: `ws://127.0.0.1:${port}${stomp.path}` };
  running.push(r);
  return r;
}

async function connect(url: string, wsOptions = {}) {
  const c = await stompjsConnect(url, {}, wsOptions);
  clients.push(c.client);
  return c;
}

async function rawConnect(url: string): Promise<RawClient> {
  const raw = await RawClient.connect(url);
  raws.push(raw);
  return raw;
}

function upgradeRequest(server: Server, path = '/ws') {
  return request(server)
    .get(path)
    .set('Connection', 'Upgrade')
    .set('Upgrade', 'websocket')
    .set('Sec-WebSocket-Version', '13')
    .set('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==');
}

type WithUser<R> = R & { user?: unknown };

/** A stand-in for a JWT middleware: `Authorization: Bearer <name>` → req.user; 401 JSON otherwise. */
const fakeJwt: Middleware = (req, res, next) => {
  const match = /^Bearer (\w+)$/.exec(req.get('authorization') ?? '');
  if (match === null) {
    res.status(401).json({ error: 'missing token' });
    return;
  }
  (req as WithUser<typeof req>).user = { name: match[1], roles: ['user'] };
  next();
};

/**
 * The token a browser app sends, since a browser's WebSocket cannot set headers: `?access_token=<name>`
 * → req.user; 401 JSON otherwise.
 */
const queryToken: Middleware = (req, res, next) => {
  const token = req.query.access_token;
  if (typeof token !== 'string' || token === '') {
    res.status(401).json({ error: 'missing access_token' });
    return;
  }
  (req as WithUser<typeof req>).user = { name: token };
  next();
};

it('runs on Express 4 (the express4 alias is not Express 5)', () => {
  expect(express4Version).toMatch(/^4\./);
});

describe('mounting on Express 4', () => {
  it('a @stomp/stompjs client connects over the server app.listen() returns and gets a message published from a route', async () => {
    const r = await start({ via: 'app.listen' });
    const { client, headers } = await connect(r.url);
    expect(headers.version).toBe('1.2');
    const { message } = await subscribeOnce(client, '/topic/news');
    await request(r.server).post('/announce').send({ title: 'hello' }).expect(202, { sent: true });
    const m = await message;
    expect(JSON.parse(m.body)).toEqual({ title: 'hello' });
    expect(m.headers['content-type']).toBe('application/json');
  });

  it('a raw STOMP client on http.createServer(app) subscribes and receives a broker.publish', async () => {
    const r = await start({ via: 'createServer' });
    const raw = await rawConnect(r.url);
    raw.send('SUBSCRIBE', { id: 'sub-0', destination: '/topic/prices', receipt: 'subscribed' });
    expect((await raw.expect('RECEIPT')).headers['receipt-id']).toBe('subscribed');
    await r.broker.publish('/topic/prices', 'ACME 42');
    const m = await raw.expect('MESSAGE');
    expect(m.headers.destination).toBe('/topic/prices');
    expect(m.headers.subscription).toBe('sub-0');
    expect(m.body.toString()).toBe('ACME 42');
  });

  it('sets req.stomp in a normal Express 4 route', async () => {
    const r = await start();
    await request(r.server).get('/template').expect(200, { send: 'function' });
  });
});

describe('principal on Express 4', () => {
  it('comes from a JWT-style Express 4 middleware (req.user) into CONNECTED user-name', async () => {
    const r = await start({ stomp: { middleware: [fakeJwt] } });
    const connected = nextEvent<[StompSession]>(r.broker, 'connected');
    const { headers } = await connect(r.url, { headers: { authorization: 'Bearer alice' } });
    expect(headers['user-name']).toBe('alice');
    const [session] = await connected;
    expect(session.user).toEqual({ name: 'alice', roles: ['user'] });
  });

  it('comes from a middleware reading the token from req.query, as a browser app sends it', async () => {
    const r = await start({ stomp: { middleware: [queryToken] } });
    const { headers } = await connect(`${r.url}?access_token=bob`);
    expect(headers['user-name']).toBe('bob');
    expect(await refusedUpgrade(r.url)).toMatchObject({ status: 401, body: JSON.stringify({ error: 'missing access_token' }) });
  });

  it('sees the same req.query in the upgrade middleware as an Express 4 route does (the app\'s query parser)', async () => {
    const seen: unknown[] = [];
    const r = await start({ stomp: { middleware: [(req, _res, next) => (seen.push(req.query), next())] } });
    const query = '?access_token=bob&room[id]=7&tag=a&tag=b';
    const route = await request(r.server).get(`/query${query}`).expect(200);
    expect(route.body).toEqual({ access_token: 'bob', room: { id: '7' }, tag: ['a', 'b'] });
    await connect(`${r.url}${query}`);
    await connect(r.url);
    expect(JSON.parse(JSON.stringify(seen))).toEqual([route.body, {}]);
  });

  it("gets the Express 4 app's request API (req.app, req.get) in principal even without middleware", async () => {
    let seenApp: unknown;
    const r = await start({
      stomp: {
        principal: (req) => {
          seenApp = req.app;
          const name = req.get('x-user');
          return name === undefined ? undefined : { name };
        },
      },
    });
    const { headers } = await connect(r.url, { headers: { 'x-user': 'hank' } });
    expect(headers['user-name']).toBe('hank');
    expect(seenApp).toBe(r.app);
  });
});

describe('refused upgrades on Express 4', () => {
  it('a middleware answering 401 (res.status().json()) refuses the upgrade with that response (ws client and supertest)', async () => {
    const r = await start({ stomp: { middleware: [fakeJwt] } });
    const refusal = await refusedUpgrade(r.url);
    expect(refusal.status).toBe(401);
    expect(JSON.parse(refusal.body)).toEqual({ error: 'missing token' });
    expect(r.broker.sessions.size).toBe(0);
    const res = await upgradeRequest(r.server);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'missing token' });
  });

  it("a middleware's next(err) refuses with err.status and its message", async () => {
    const denied = Object.assign(new Error('token expired'), { status: 401 });
    const r = await start({ stomp: { middleware: [(_req, _res, next) => next(denied)] } });
    expect(await refusedUpgrade(r.url)).toMatchObject({ status: 401, body: 'token expired' });
  });

  it('refuses a cross-site upgrade with 403 before running the auth middleware', async () => {
    const seen: string[] = [];
    const r = await start({ stomp: { middleware: [(req, _res, next) => (seen.push(req.url), next())] } });
    expect(await refusedUpgrade(r.url, { origin: 'https://evil.example' })).toMatchObject({ status: 403, body: 'Origin not allowed' });
    expect(seen).toEqual([]);
  });

  it('answers 404 to an upgrade for another path', async () => {
    const r = await start();
    expect((await refusedUpgrade(`ws://127.0.0.1:${r.port}/nope`)).status).toBe(404);
  });
});
