/**
 * @stompkit/fastify end to end: a real Fastify 5 app listening on an ephemeral loopback port, real
 * WebSocket clients (@stomp/stompjs 7 over ws, raw ws) for STOMP, supertest for HTTP.
 */
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Client } from '@stomp/stompjs';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import request from 'supertest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createBroker, type BrokerOptions, type StompBroker, type StompSession } from '@stompkit/core';
import { stompPlugin, type StompPluginOptions } from '@stompkit/fastify';
import { RawClient } from '../../core/test/helpers/raw-client';
import { firstMessage, nextEvent, openWs, refusedUpgrade, stompjsConnect, subscribeOnce } from '../../core/test/transport/ws-helpers';

interface Running {
  app: FastifyInstance;
  broker: StompBroker;
  port: number;
  url: string;
  base: string;
}

const apps: FastifyInstance[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(
  options: {
    broker?: BrokerOptions;
    plugin?: Omit<StompPluginOptions, 'broker'>;
    /** Runs before the plugin is registered (auth hooks, decorators). */
    before?: (app: FastifyInstance) => void | Promise<void>;
    /** Runs after it (routes using app.stomp, more websocket routes). */
    after?: (app: FastifyInstance) => void | Promise<void>;
  } = {},
): Promise<Running> {
  const broker = createBroker({ heartbeat: [0, 0], logger: false, ...options.broker });
  const app = Fastify();
  apps.push(app);
  await options.before?.(app);
  await app.register(stompPlugin, { broker, ...options.plugin });
  app.get('/health', async () => ({ ok: true }));
  app.post('/announce', async (req, reply) => {
    await app.stomp.send('/topic/news', req.body as object);
    return reply.code(202).send({ sent: true });
  });
  await options.after?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const base = `ws://127.0.0.1:${port}`;
  return { app, broker, port, base, url: `${base}${options.plugin?.path ?? '/ws'}` };
}

async function connect(url: string, wsOptions = {}, connectHeaders: Record<string, string> = {}) {
  const c = await stompjsConnect(url, { connectHeaders }, wsOptions);
  clients.push(c.client);
  return c;
}

function upgradeRequest(app: FastifyInstance, path = '/ws') {
  return request(app.server)
    .get(path)
    .set('Connection', 'Upgrade')
    .set('Upgrade', 'websocket')
    .set('Sec-WebSocket-Version', '13')
    .set('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==');
}

/** A stand-in for @fastify/jwt: `Authorization: Bearer <name>` → request.user, else 401. */
async function jwtLikeAuth(app: FastifyInstance): Promise<void> {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req, reply) => {
    const match = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '');
    if (match === null) return reply.code(401).send({ error: 'Unauthorized', message: 'missing token' });
    (req as unknown as { user: unknown }).user = { name: match[1], scope: 'chat' };
  });
}

/**
 * What @fastify/jwt does for `onRequest: [app.authenticate]` with `request.jwtVerify()`: verifies an
 * HS256 token from `Authorization: Bearer` and sets `request.user` to its payload — standard
 * claims, so the user's name is `sub`, not `name`.
 */
const JWT_SECRET = 'test-secret';

function signJwt(payload: object): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

async function fastifyJwtLike(app: FastifyInstance): Promise<void> {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req, reply) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const [head, body, signature] = token.split('.');
    const expected = body === undefined ? '' : createHmac('sha256', JWT_SECRET).update(`${head}.${body}`).digest('base64url');
    if (signature === undefined || signature !== expected) return reply.code(401).send({ error: 'Unauthorized', message: 'Authorization token is invalid' });
    (req as unknown as { user: unknown }).user = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  });
}

describe('plugin', () => {
  it('serves STOMP 1.2 over the v12.stomp sub-protocol with core ws settings', async () => {
    const r = await start();
    const ws = await openWs(r.url);
    expect(ws.protocol).toBe('v12.stomp');
    ws.close();
    const { headers } = await connect(r.url);
    expect(headers.version).toBe('1.2');
    expect(r.app.websocketServer.options.maxPayload).toBe(r.broker.webSocketOptions.maxPayload);
    expect(r.app.websocketServer.options.perMessageDeflate).toBe(false);
  });

  it('decorates fastify.stomp (the template) and fastify.stompBroker', async () => {
    const r = await start();
    expect(r.app.stomp).toBe(r.broker.template);
    expect(r.app.stompBroker).toBe(r.broker);
  });

  it('refuses to register without a broker', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(stompPlugin, {} as StompPluginOptions).ready()).rejects.toThrow(/options.broker/);
  });

  it('keeps the other routes working and answers a plain GET on the STOMP path without running interceptors', async () => {
    const before = jest.fn();
    const r = await start({ broker: { handshake: [{ before }] } });
    await request(r.app.server).get('/health').expect(200, { ok: true });
    await request(r.app.server).get('/ws').expect(404);
    expect(before).not.toHaveBeenCalled();
  });

  it('a POST route publishes through fastify.stomp to a subscribed @stomp/stompjs client', async () => {
    const r = await start();
    const { client } = await connect(r.url);
    const { message } = await subscribeOnce(client, '/topic/news');
    await request(r.app.server).post('/announce').send({ title: 'hello' }).expect(202, { sent: true });
    const m = await message;
    expect(JSON.parse(m.body)).toEqual({ title: 'hello' });
  });

  it('serves a custom path', async () => {
    const r = await start({ plugin: { path: '/stomp' } });
    const { headers } = await connect(r.url);
    expect(headers.version).toBe('1.2');
  });

  it('works next to an app that registered @fastify/websocket itself', async () => {
    const r = await start({
      before: async (app) => {
        await app.register(fastifyWebsocket);
        app.get('/mine', { websocket: true }, (socket) => socket.send('mine'));
      },
    });
    const { headers } = await connect(r.url);
    expect(headers.version).toBe('1.2');
    const mine = await firstMessage(`${r.base}/mine`);
    expect(mine.message).toBe('mine');
    mine.ws.close();
  });
});

describe('sharing the HTTP server', () => {
  it('keeps a second ws server on another path of the same HTTP server working', async () => {
    const echo = new WebSocketServer({ noServer: true });
    echo.on('connection', (ws: WebSocket) => ws.on('message', (data: Buffer) => ws.send(`echo:${data.toString()}`)));
    try {
      const r = await start({
        after: (app) => {
          app.server.on('upgrade', (req, socket, head) => {
            if (req.url === '/echo') echo.handleUpgrade(req, socket, head, (ws) => echo.emit('connection', ws, req));
          });
        },
      });
      const other = await openWs(`${r.base}/echo`, {}, []);
      const reply = nextEvent<[Buffer]>(other, 'message');
      other.send('hi');
      expect((await reply)[0].toString()).toBe('echo:hi');
      const { headers } = await connect(r.url);
      expect(headers.version).toBe('1.2');
      other.close();
    } finally {
      echo.close();
    }
  });

  it("still routes the app's own websocket routes (with params) through Fastify", async () => {
    const r = await start({
      after: (app) => {
        app.server.on('upgrade', () => undefined); // someone else listens too
        app.get('/rooms/:room', { websocket: true }, (socket, req) => socket.send(`room:${(req.params as { room: string }).room}`));
      },
    });
    const room = await firstMessage(`${r.base}/rooms/lobby`);
    expect(room.message).toBe('room:lobby');
    room.ws.close();
  });

  it('answers 404 to an upgrade for an unknown path when nobody else listens', async () => {
    const r = await start();
    expect((await refusedUpgrade(`${r.base}/nope`)).status).toBe(404);
  });
});

describe('origins', () => {
  it('refuses a cross-site upgrade with 403 (ws client and supertest)', async () => {
    const r = await start();
    expect(await refusedUpgrade(r.url, { origin: 'https://evil.example' })).toMatchObject({ status: 403, body: 'Origin not allowed' });
    const res = await upgradeRequest(r.app).set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.text).toBe('Origin not allowed');
  });

  it('accepts same-origin and allowed patterns', async () => {
    const r = await start({ broker: { allowedOrigins: ['http://localhost:*'] } });
    await connect(r.url, { origin: `http://127.0.0.1:${r.port}` });
    await connect(r.url, { origin: 'http://localhost:5173' });
    expect((await refusedUpgrade(r.url, { origin: 'http://127.0.0.2:5173' })).status).toBe(403);
  });
});

describe('handshake interceptors', () => {
  it('answer a refusal as a Fastify reply with their status and reason', async () => {
    const r = await start({
      broker: { handshake: [{ before: async (req) => (req.headers['x-plan'] === 'pro' ? true : { status: 402, reason: 'upgrade your plan' }) }] },
    });
    expect(await refusedUpgrade(r.url)).toMatchObject({ status: 402, body: 'upgrade your plan' });
    const res = await upgradeRequest(r.app);
    expect(res.status).toBe(402);
    expect(res.text).toBe('upgrade your plan');
    await connect(r.url, { headers: { 'x-plan': 'pro' } });
  });

  it('see the principal from auth hooks; attributes last for the session; after sees the session', async () => {
    const afterSeen: StompSession[] = [];
    const r = await start({
      before: jwtLikeAuth,
      broker: {
        handshake: [
          {
            before: async (req, ctx) => {
              ctx.attributes.set('user-at-handshake', ctx.user?.name);
              ctx.attributes.set('ua', req.headers['user-agent']);
            },
            after: (_req, session) => afterSeen.push(session),
          },
        ],
      },
    });
    const connected = nextEvent<[StompSession]>(r.broker, 'connected');
    await connect(r.url, { headers: { authorization: 'Bearer dave', 'user-agent': 'test-agent' } });
    const [session] = await connected;
    expect(session.attributes.get('user-at-handshake')).toBe('dave');
    expect(session.attributes.get('ua')).toBe('test-agent');
    expect(afterSeen).toEqual([session]);
  });
});

describe('principal', () => {
  it('comes from an onRequest auth hook (request.user) into CONNECTED user-name', async () => {
    const r = await start({ before: jwtLikeAuth });
    const connected = nextEvent<[StompSession]>(r.broker, 'connected');
    const { headers } = await connect(r.url, { headers: { authorization: 'Bearer erin' } });
    expect(headers['user-name']).toBe('erin');
    expect((await connected)[0].user).toEqual({ name: 'erin', scope: 'chat' });
  });

  it('comes from an @fastify/jwt-style request.user with the standard sub claim, kept whole as details', async () => {
    const r = await start({ before: fastifyJwtLike });
    const connected = nextEvent<[StompSession]>(r.broker, 'connected');
    const claims = { sub: 'user-42', scope: 'chat', iat: 1700000000, exp: 4100000000 };
    const { client, headers } = await connect(r.url, { headers: { authorization: `Bearer ${signJwt(claims)}` } });
    expect(headers['user-name']).toBe('user-42');
    expect((await connected)[0].user).toEqual({ name: 'user-42', details: claims });
    const { message } = await subscribeOnce(client, '/user/queue/dm');
    await r.app.stomp.sendToUser('user-42', '/queue/dm', { text: 'hello' });
    const dm = await message;
    expect(dm.body).toBe('{"text":"hello"}');
    expect(Object.keys(dm.headers).filter((h) => /details|scope|iat|exp/.test(h))).toEqual([]);
    expect(await refusedUpgrade(r.url, { headers: { authorization: 'Bearer forged.token.sig' } })).toMatchObject({ status: 401 });
  });

  it('takes the name from the user field the principal option names', async () => {
    const r = await start({ before: fastifyJwtLike, plugin: { principal: 'email' } });
    const { headers } = await connect(r.url, { headers: { authorization: `Bearer ${signJwt({ sub: 'user-42', email: 'ada@example.com' })}` } });
    expect(headers['user-name']).toBe('ada@example.com');
  });

  it('logs a warning when an authenticated request yields no name, and connects anonymously', async () => {
    const warnings: unknown[][] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (...args: unknown[]) => void warnings.push(args) };
    const r = await start({ before: fastifyJwtLike, broker: { logger } });
    const { headers } = await connect(r.url, { headers: { authorization: `Bearer ${signJwt({ scope: 'chat' })}` } });
    expect(headers['user-name']).toBeUndefined();
    expect(warnings).toEqual([
      [
        { url: '/ws', userFields: 'scope' },
        "an authenticated upgrade has a user object without a name (tried name, username, sub, id); it connects anonymously. Set the adapter's principal option",
      ],
    ]);
  });

  it('an auth hook replying 401 refuses the upgrade', async () => {
    const r = await start({ before: jwtLikeAuth });
    const refusal = await refusedUpgrade(r.url);
    expect(refusal.status).toBe(401);
    expect(JSON.parse(refusal.body)).toMatchObject({ message: 'missing token' });
    expect(r.broker.sessions.size).toBe(0);
  });

  it('logs upgrades refused by an auth hook (401) and by the origin check (403, once) as warnings', async () => {
    const warnings: unknown[][] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (...args: unknown[]) => void warnings.push(args) };
    const r = await start({ before: fastifyJwtLike, broker: { logger } });
    expect((await refusedUpgrade(r.url)).status).toBe(401);
    const authorization = `Bearer ${signJwt({ sub: 'user-42' })}`;
    expect((await refusedUpgrade(r.url, { headers: { origin: 'https://evil.example', authorization } })).status).toBe(403);
    expect(warnings).toEqual([
      [{ status: 401, url: '/ws' }, 'websocket upgrade refused by a fastify hook'],
      [
        { status: 403, url: '/ws', origin: 'https://evil.example', allowedOrigins: 'same origin only' },
        'websocket upgrade refused: origin not allowed (see allowedOrigins)',
      ],
    ]);
  });

  it('closes an upgrade to an unknown path that an auth hook refused, so fastify.close() does not wait for it', async () => {
    const r = await start({ before: fastifyJwtLike });
    expect((await refusedUpgrade(`${r.base}/elsewhere`)).status).toBe(401);
    await r.app.close(); // would hang with the socket left open
  });

  it('logs an upgrade for an unknown path (404) as a warning', async () => {
    const warnings: unknown[][] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (...args: unknown[]) => void warnings.push(args) };
    const r = await start({ broker: { logger } });
    expect((await refusedUpgrade(`${r.base}/elsewhere`)).status).toBe(404);
    expect(warnings).toEqual([[{ status: 404, url: '/elsewhere' }, 'websocket upgrade refused: no websocket route at this path']]);
  });

  it('comes from a custom principal function (async allowed)', async () => {
    const r = await start({
      plugin: { principal: async (req) => (typeof req.headers['x-user'] === 'string' ? { name: req.headers['x-user'] } : undefined) },
    });
    const { headers } = await connect(r.url, { headers: { 'x-user': 'frank' } });
    expect(headers['user-name']).toBe('frank');
  });

  it('comes from CONNECT login/passcode through the authenticator; a refused CONNECT gets ERROR and close', async () => {
    const r = await start({
      broker: { authenticate: async ({ login, passcode }) => (passcode === 'pw' ? { name: login ?? 'anon' } : false) },
    });
    const { headers } = await connect(r.url, {}, { login: 'gina', passcode: 'pw' });
    expect(headers['user-name']).toBe('gina');
    const raw = await RawClient.open(r.url);
    raw.send('CONNECT', { 'accept-version': '1.2', host: 'h', passcode: 'nope' });
    await raw.expectError('authentication failed');
    expect(raw.frames.map((f) => f.command)).toEqual(['ERROR']);
  });
});

describe('shutdown', () => {
  it('fastify.close() drains sessions: clients get ERROR server shutting down, then close', async () => {
    const r = await start();
    const a = await RawClient.connect(r.url);
    const b = await RawClient.connect(r.url);
    apps.splice(apps.indexOf(r.app), 1);
    await r.app.close();
    await a.expectError('server shutting down');
    await b.expectError('server shutting down');
    expect(r.broker.sessions.size).toBe(0);
  });
});
