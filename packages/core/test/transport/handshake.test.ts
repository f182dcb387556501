/**
 * The handshake pipeline: origin policy, interceptors (before/after), principal, and the CONNECT
 * authenticator — first on the Handshake class alone, then end to end through a real http.Server
 * with `broker.attach` and real WebSocket clients.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import request from 'supertest';
import { Handshake, type HandshakeInterceptor, type StompSession } from '../../src';
import type { Logger } from '../../src/logger';
import type { BrokerOptions } from '../../src/options';
import { RawClient } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import { nextEvent, openWs, refusedUpgrade } from './ws-helpers';

function fakeRequest(headers: Record<string, string>): IncomingMessage {
  return { headers, url: '/ws', method: 'GET' } as unknown as IncomingMessage;
}

function recordingLogger(): Logger & { errors: Array<[unknown, string | undefined]> } {
  const errors: Array<[unknown, string | undefined]> = [];
  const noop = (): void => {};
  return { errors, debug: noop, info: noop, warn: noop, error: (obj, msg) => errors.push([obj, msg]) };
}

function handshake(allowedOrigins?: string[], interceptors?: HandshakeInterceptor[], logger: Logger = recordingLogger()): Handshake {
  return new Handshake({ allowedOrigins, interceptors, logger });
}

describe('Handshake origin policy', () => {
  const host = 'chat.example.com';

  it('allows a request without an Origin header (not a browser)', () => {
    expect(handshake().checkOrigin(fakeRequest({ host }))).toBeUndefined();
  });

  it('allows same-origin by default and refuses another origin with 403', () => {
    const h = handshake();
    expect(h.checkOrigin(fakeRequest({ host, origin: 'https://chat.example.com' }))).toBeUndefined();
    expect(h.checkOrigin(fakeRequest({ host, origin: 'https://evil.example.net' }))).toEqual({ status: 403, reason: 'Origin not allowed' });
  });

  it('compares host and port, filling in default ports and ignoring case', () => {
    const h = handshake();
    expect(h.isAllowedOrigin('https://Chat.Example.com', 'chat.example.com:443')).toBe(true);
    expect(h.isAllowedOrigin('http://chat.example.com:80', 'chat.example.com')).toBe(true);
    expect(h.isAllowedOrigin('http://localhost:3000', 'localhost:3000')).toBe(true);
    expect(h.isAllowedOrigin('http://localhost:3001', 'localhost:3000')).toBe(false);
    expect(h.isAllowedOrigin('http://[::1]:3000', '[::1]:3000')).toBe(true);
    expect(h.isAllowedOrigin('https://chat.example.com', 'chat.example.com:8443')).toBe(false);
    expect(h.isAllowedOrigin('https://chat.example.com.evil.net', 'chat.example.com')).toBe(false);
  });

  it("refuses the opaque origin 'null' (sandboxed iframes, file://) unless allowed", () => {
    expect(handshake().isAllowedOrigin('null', host)).toBe(false);
    expect(handshake(['*']).isAllowedOrigin('null', host)).toBe(true);
  });

  it("allows everything with '*'", () => {
    expect(handshake(['*']).checkOrigin(fakeRequest({ host, origin: 'https://anything.example' }))).toBeUndefined();
  });

  it('allows exact origins, ignoring case, a trailing slash and a default port', () => {
    const h = handshake(['https://App.Example/', 'http://localhost:5173']);
    expect(h.isAllowedOrigin('https://app.example', host)).toBe(true);
    expect(h.isAllowedOrigin('https://app.example:443', host)).toBe(true);
    expect(h.isAllowedOrigin('http://localhost:5173', host)).toBe(true);
    expect(h.isAllowedOrigin('http://localhost:5174', host)).toBe(false);
    expect(h.isAllowedOrigin('http://app.example', host)).toBe(false);
  });

  it("matches subdomain patterns like 'https://*.example.com' and nothing past the host", () => {
    const h = handshake(['https://*.example.com']);
    expect(h.isAllowedOrigin('https://a.example.com', 'other.host')).toBe(true);
    expect(h.isAllowedOrigin('https://a.b.example.com', 'other.host')).toBe(true);
    expect(h.isAllowedOrigin('https://example.com', 'other.host')).toBe(false);
    expect(h.isAllowedOrigin('https://evilexample.com', 'other.host')).toBe(false);
    expect(h.isAllowedOrigin('http://a.example.com', 'other.host')).toBe(false);
    expect(h.isAllowedOrigin('https://a.example.com.evil.net', 'other.host')).toBe(false);
    expect(h.isAllowedOrigin('https://evil.net/.example.com', 'other.host')).toBe(false);
  });

  it("matches any port (or none) with 'http://localhost:*'", () => {
    const h = handshake(['http://localhost:*']);
    expect(h.isAllowedOrigin('http://localhost:5173', 'api.host')).toBe(true);
    expect(h.isAllowedOrigin('http://localhost', 'api.host')).toBe(true);
    expect(h.isAllowedOrigin('http://localhost.evil.net:80', 'api.host')).toBe(false);
    expect(h.isAllowedOrigin('https://localhost:5173', 'api.host')).toBe(false);
  });

  it('rejects invalid allowedOrigins at construction', () => {
    expect(() => handshake([''])).toThrow(TypeError);
    expect(() => handshake([42 as unknown as string])).toThrow(TypeError);
    expect(() => handshake('https://a.example' as unknown as string[])).toThrow(TypeError);
  });
});

describe('Handshake interceptors', () => {
  const req = fakeRequest({ host: 'h' });

  it('run in order, fill attributes, set the principal, and may be async', async () => {
    const calls: string[] = [];
    const h = handshake(undefined, [
      {
        before: (_req, ctx) => {
          calls.push('one');
          ctx.attributes.set('a', 1);
        },
      },
      {
        before: async (_req, ctx) => {
          await Promise.resolve();
          calls.push('two');
          ctx.user = { name: `${String(ctx.user?.name)}+two` };
          return true;
        },
      },
      { after: () => calls.push('after-only') },
    ]);
    const result = await h.run(req, { user: { name: 'framework' } });
    expect(calls).toEqual(['one', 'two']);
    expect(result).toEqual({ accepted: true, user: { name: 'framework+two' }, attributes: new Map([['a', 1]]) });
  });

  it('uses the attributes map it is given', async () => {
    const attributes = new Map<string, unknown>([['seed', true]]);
    const result = await handshake(undefined, [{ before: (_r, ctx) => void ctx.attributes.set('x', 2) }]).run(req, { attributes });
    expect(result.accepted && result.attributes).toBe(attributes);
    expect([...attributes]).toEqual([['seed', true], ['x', 2]]);
  });

  it('refuses with 403 on false and stops there', async () => {
    const later = jest.fn();
    const result = await handshake(undefined, [{ before: () => false }, { before: later }]).run(req);
    expect(result).toEqual({ accepted: false, status: 403, reason: 'Forbidden' });
    expect(later).not.toHaveBeenCalled();
  });

  it('refuses with the status and reason an interceptor returns', async () => {
    const result = await handshake(undefined, [{ before: async () => ({ status: 429, reason: 'slow down' }) }]).run(req);
    expect(result).toEqual({ accepted: false, status: 429, reason: 'slow down' });
    const noReason = await handshake(undefined, [{ before: () => ({ status: 401 }) }]).run(req);
    expect(noReason).toEqual({ accepted: false, status: 401, reason: 'Unauthorized' });
  });

  it('answers 500 without leaking the message when an interceptor throws, and logs it', async () => {
    const logger = recordingLogger();
    const result = await handshake(undefined, [{ before: async () => Promise.reject(new Error('db password is hunter2')) }], logger).run(req);
    expect(result).toEqual({ accepted: false, status: 500, reason: 'Internal Server Error' });
    expect(logger.errors).toHaveLength(1);
    expect((logger.errors[0][0] as { err: Error }).err.message).toBe('db password is hunter2');
  });

  it('answers 500 for a refusal status outside 400-599 or an unexpected return value', async () => {
    expect(await handshake(undefined, [{ before: () => ({ status: 200 }) }]).run(req)).toMatchObject({ accepted: false, status: 500 });
    expect(await handshake(undefined, [{ before: () => 'yes' as unknown as boolean }]).run(req)).toMatchObject({ accepted: false, status: 500 });
  });

  it('checks the origin before any interceptor runs', async () => {
    const before = jest.fn();
    const result = await handshake(undefined, [{ before }]).run(fakeRequest({ host: 'h', origin: 'https://evil.example' }));
    expect(result).toEqual({ accepted: false, status: 403, reason: 'Origin not allowed' });
    expect(before).not.toHaveBeenCalled();
  });

  it('logs an after hook that throws and runs the next one', () => {
    const logger = recordingLogger();
    const second = jest.fn();
    const session = { sessionId: 's1' } as StompSession;
    handshake(undefined, [{ after: () => { throw new Error('boom'); } }, { after: second }], logger).after(req, session);
    expect(second).toHaveBeenCalledWith(req, session);
    expect(logger.errors).toHaveLength(1);
  });
});

describe('handshake over a real server', () => {
  let server: TestServer;

  async function start(options: BrokerOptions): Promise<TestServer> {
    server = await startServer(options);
    return server;
  }

  afterEach(async () => {
    await server?.close();
  });

  it('refuses a cross-site upgrade with 403 before upgrading (ws client)', async () => {
    await start({});
    const refusal = await refusedUpgrade(server.url, { origin: 'https://evil.example' });
    expect(refusal.status).toBe(403);
    expect(refusal.body).toBe('Origin not allowed');
    expect(refusal.headers.connection).toBe('close');
    expect(server.broker.sessions.size).toBe(0);
  });

  it('refuses a cross-site upgrade with 403 (supertest, a complete HTTP response)', async () => {
    await start({});
    const res = await request(server.http)
      .get('/ws')
      .set('Connection', 'Upgrade')
      .set('Upgrade', 'websocket')
      .set('Sec-WebSocket-Version', '13')
      .set('Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==')
      .set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.text).toBe('Origin not allowed');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('accepts a same-origin browser upgrade and one from an allowed pattern', async () => {
    await start({ allowedOrigins: ['http://*.localhost:*'] });
    const same = await openWs(server.url, { origin: `http://127.0.0.1:${server.port}` });
    const pattern = await openWs(server.url, { origin: 'http://app.localhost:5173' });
    same.close();
    pattern.close();
    expect((await refusedUpgrade(server.url, { origin: 'http://localhost:5173' })).status).toBe(403);
  });

  it('answers an interceptor refusal with its status and reason', async () => {
    await start({
      handshake: [{ before: async (req) => (req.headers['x-api-key'] === 'k' ? true : { status: 401, reason: 'api key required' }) }],
    });
    const refusal = await refusedUpgrade(server.url);
    expect(refusal).toMatchObject({ status: 401, body: 'api key required' });
    const ok = await openWs(server.url, { headers: { 'x-api-key': 'k' } });
    ok.close();
  });

  it('keeps attributes from an async interceptor for the session and shows the session to after', async () => {
    const seen: Array<{ session: StompSession; tenant: unknown }> = [];
    await start({
      handshake: [
        {
          before: async (req, ctx) => {
            await new Promise((r) => setImmediate(r));
            ctx.attributes.set('tenant', req.headers['x-tenant']);
          },
          after: (_req, session) => seen.push({ session, tenant: session.attributes.get('tenant') }),
        },
      ],
    });
    const connected = nextEvent<[StompSession]>(server.broker, 'connected');
    const ws = await openWs(server.url, { headers: { 'x-tenant': 'acme' } });
    ws.send('CONNECT\naccept-version:1.2\nhost:h\n\n\0');
    const [session] = await connected;
    expect(session.attributes.get('tenant')).toBe('acme');
    expect(seen).toHaveLength(1);
    expect(seen[0].session).toBe(session);
    expect(seen[0].tenant).toBe('acme');
    ws.close();
  });

  it('carries the principal an interceptor sets into CONNECTED user-name and the authenticator', async () => {
    const seenByAuth: Array<string | undefined> = [];
    await start({
      handshake: [{ before: (req, ctx) => void (ctx.user = { name: String(req.headers['x-user']) }) }],
      authenticate: (info) => void seenByAuth.push(info.user?.name),
    });
    const ws = await openWs(server.url, { headers: { 'x-user': 'alice' } });
    const frame = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
    ws.send('CONNECT\naccept-version:1.2\nhost:h\n\n\0');
    expect(await frame).toMatch(/^CONNECTED\n(.*\n)*user-name:alice\n/);
    expect(seenByAuth).toEqual(['alice']);
    ws.close();
  });

  it('refuses a CONNECT the authenticator rejects with ERROR and close, never CONNECTED', async () => {
    await start({
      authenticate: async ({ login, passcode }) => (login === 'bob' && passcode === 'secret' ? { name: 'bob' } : false),
    });
    const refused = await RawClient.open(server.url);
    refused.send('CONNECT', { 'accept-version': '1.2', host: 'h', login: 'bob', passcode: 'wrong' });
    const error = await refused.expectError('authentication failed');
    expect(refused.frames.map((f) => f.command)).toEqual(['ERROR']);
    expect(error.headers.message).toBe('authentication failed');

    const accepted = await RawClient.open(server.url);
    accepted.send('CONNECT', { 'accept-version': '1.2', host: 'h', login: 'bob', passcode: 'secret' });
    const connected = await accepted.expect('CONNECTED');
    expect(connected.headers['user-name']).toBe('bob');
    accepted.close();
  });

  it('survives a socket error while an interceptor is pending and starts no session', async () => {
    let release!: () => void;
    let entered!: (socket: Socket) => void;
    const pending = new Promise<Socket>((resolve) => (entered = resolve));
    await start({
      handshake: [{ before: (req) => new Promise<void>((resolve) => ((release = resolve), entered(req.socket as Socket))) }],
    });
    const client = new Socket();
    const clientClosed = nextEvent(client, 'close');
    client.connect(server.port, '127.0.0.1', () =>
      client.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    const serverSocket = await pending;
    // Node removes its socket 'error' listener before 'upgrade'; without a guard this would throw.
    serverSocket.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(serverSocket.destroyed).toBe(true);
    release();
    await clientClosed;
    expect(server.broker.sessions.size).toBe(0);
  });

  it('answers 503 once the broker is closed', async () => {
    await start({});
    await server.broker.close();
    // close() detached the broker from the server; an adapter may still hand it upgrades.
    server.http.on('upgrade', (req, socket, head) => server.broker.handleUpgrade(req, socket, head));
    expect(await refusedUpgrade(server.url)).toMatchObject({ status: 503, body: 'server shutting down' });
  });
});

describe('refused upgrades in the log', () => {
  let logged: TestServer | undefined;

  afterEach(async () => {
    await logged?.close();
    logged = undefined;
  });

  it('warns with the status, URL and reason for a foreign origin (403), an interceptor refusal (401) and an unknown path (404)', async () => {
    const warnings: Array<[Record<string, unknown>, string | undefined]> = [];
    const noop = (): void => {};
    const logger: Logger = { debug: noop, info: noop, error: noop, warn: (obj, msg) => warnings.push([obj as Record<string, unknown>, msg]) };
    logged = await startServer({
      heartbeat: [0, 0],
      logger,
      handshake: [{ before: (req) => (req.url?.includes('token=') ? true : { status: 401, reason: 'token required' }) }],
    });
    expect((await refusedUpgrade(`${logged.url}?token=x`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await refusedUpgrade(logged.url)).status).toBe(401);
    expect((await refusedUpgrade(logged.url.replace('/ws', '/nope'))).status).toBe(404);
    expect(warnings).toEqual([
      [
        { status: 403, url: '/ws?token=x', origin: 'https://evil.example', allowedOrigins: 'same origin only' },
        'websocket upgrade refused: origin not allowed (see allowedOrigins)',
      ],
      [{ status: 401, url: '/ws', reason: 'token required' }, 'websocket upgrade refused by a handshake interceptor'],
      [{ status: 404, url: '/nope', path: '/ws' }, 'websocket upgrade refused: no STOMP endpoint at this path'],
    ]);
  });
});
