/**
 * The inspector handler over a real http.Server: authorization (403, async, throwing), routing
 * (page, data.json, next()), the JSON it serves after real STOMP traffic, and the page's headers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@stomp/stompjs';
import request from 'supertest';
import { createBroker, type StompBroker } from '../../src';
import { createInspector, type Inspector, type InspectorOptions } from '../../src/inspector/inspector';
import type { InspectorSnapshot } from '../../src/inspector/model';
import { RawClient } from '../helpers/raw-client';
import { stompjsConnect } from '../transport/ws-helpers';

interface Running {
  broker: StompBroker;
  http: Server;
  url: string;
  inspector: Inspector;
}

const running: Running[] = [];
const clients: Client[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  for (const raw of raws.splice(0)) raw.close();
  for (const { broker, http } of running.splice(0)) {
    await broker.close({ timeout: 500 });
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }
});

/** An http.Server: the inspector first, then an app answering 'app'. STOMP on /ws. */
async function start(options: Partial<InspectorOptions> = {}): Promise<Running> {
  const broker = createBroker({
    logger: false,
    heartbeat: [0, 0],
    allowedOrigins: ['https://app.example'],
    authenticate: (info) => (info.login ? { name: info.login } : undefined),
  });
  const inspector = createInspector(broker, { authorize: (req) => req.headers['x-admin'] === 'yes', ...options });
  const http = createServer((req: IncomingMessage, res: ServerResponse) =>
    inspector(req, res, () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('app');
    }),
  );
  broker.attach(http, { path: '/ws' });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const r = { broker, http, url: `ws://127.0.0.1:${port}/ws`, inspector };
  running.push(r);
  return r;
}

async function stompUser(url: string, login: string) {
  const c = await stompjsConnect(url, { connectHeaders: { login } }, { origin: 'https://app.example' });
  clients.push(c.client);
  return c.client;
}

describe('inspector', () => {
  it('cannot be created without an authorize hook', () => {
    const broker = createBroker({ logger: false });
    expect(() => createInspector(broker, {} as never)).toThrow(/authorize/);
    expect(() => createInspector(broker, { authorize: () => true, path: 'nope' })).toThrow(/must start with '\/'/);
  });

  it('answers 403 to requests authorize() refuses, on the page and the data alike', async () => {
    const { http } = await start();
    for (const path of ['/stomp-inspector', '/stomp-inspector/', '/stomp-inspector/data.json', '/stomp-inspector/anything']) {
      const res = await request(http).get(path);
      expect(res.status).toBe(403);
      expect(res.text).toBe('Forbidden');
      expect(res.text).not.toContain('stompkit');
    }
  });

  it('passes everything outside its path on to next()', async () => {
    const { http } = await start();
    await request(http).get('/').expect(200, 'app');
    await request(http).get('/stomp-inspectorx').expect(200, 'app');
    await request(http).get('/other/data.json').expect(200, 'app');
  });

  it('waits for an async authorize(), and answers 500 (logged) when it throws', async () => {
    const allowed = await start({ authorize: async (req) => req.headers['x-admin'] === 'yes' });
    await request(allowed.http).get('/stomp-inspector/data.json').set('x-admin', 'yes').expect(200);
    await request(allowed.http).get('/stomp-inspector/data.json').expect(403);
    const failing = await start({
      authorize: () => {
        throw new Error('session store down');
      },
    });
    await request(failing.http).get('/stomp-inspector').expect(500, 'Internal Server Error');
    const rejecting = await start({ authorize: () => Promise.reject(new Error('down')) });
    await request(rejecting.http).get('/stomp-inspector').expect(500);
  });

  it('allows only true: a truthy non-boolean is still a 403', async () => {
    const { http } = await start({ authorize: (() => 'yes') as never });
    await request(http).get('/stomp-inspector').expect(403);
  });

  it('serves the page with a nonce CSP, no caching, and the escaped title', async () => {
    const { http } = await start({ title: 'Chat <b>&</b> "ops"' });
    const res = await request(http).get('/stomp-inspector').set('x-admin', 'yes').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const csp = res.headers['content-security-policy'];
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(res.text).toContain(`<script nonce="${nonce}">`);
    expect(res.text).toContain('<title>Chat &#60;b&#62;&#38;&#60;/b&#62; &#34;ops&#34;</title>');
    expect(res.text).not.toContain('<b>&</b>');
    // Self-contained: nothing loaded from anywhere else.
    expect(res.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)|https?:\/\//);
    // Client data is only ever put in as text.
    expect(res.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    const again = await request(http).get('/stomp-inspector/').set('x-admin', 'yes').expect(200);
    expect(again.headers['content-security-policy']).not.toBe(csp); // a fresh nonce each time
  });

  it('answers HEAD, refuses other methods with 405, and unknown paths under it with 404', async () => {
    const { http } = await start();
    const head = await request(http).head('/stomp-inspector/data.json').set('x-admin', 'yes').expect(200);
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
    const post = await request(http).post('/stomp-inspector/data.json').set('x-admin', 'yes').expect(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    await request(http).get('/stomp-inspector/nope').set('x-admin', 'yes').expect(404);
  });

  it('serves 404 outside its path when used without next()', async () => {
    const broker = createBroker({ logger: false });
    const inspector = createInspector(broker, { authorize: () => true, path: '/admin/stomp/' });
    expect(inspector.path).toBe('/admin/stomp');
    const http = createServer((req, res) => inspector(req, res));
    running.push({ broker, http, url: '', inspector });
    await request(http).get('/').expect(404);
    await request(http).get('/admin/stomp').expect(200);
  });

  it('reports sessions, subscriptions per destination, queue depths, counters and rates as JSON', async () => {
    const { http, url } = await start({ minSampleInterval: 50 });
    const alice = await stompUser(url, 'alice');
    const bob = await stompUser(url, 'bob');
    const anonymous = await RawClient.connect(url, { 'accept-version': '1.1', host: 'h' });
    raws.push(anonymous);
    const got: string[] = [];
    await subscribe(alice, '/topic/chat/lobby', (body) => got.push(body));
    await subscribe(bob, '/topic/chat/lobby', (body) => got.push(body));
    await subscribe(bob, '/topic/chat/<script>', () => undefined);
    bob.publish({ destination: '/queue/jobs', body: 'job 1' });
    const queued = new Promise<void>((resolve) => bob.watchForReceipt('queued', () => resolve()));
    bob.publish({ destination: '/queue/jobs', body: 'job 2', headers: { receipt: 'queued' } });
    await queued;

    const get = async (): Promise<InspectorSnapshot> => {
      const res = await request(http).get('/stomp-inspector/data.json').set('x-admin', 'yes').expect(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      return res.body as InspectorSnapshot;
    };
    const first = await get();
    expect(first.rates).toBeNull();
    for (let i = 0; i < 10; i++) alice.publish({ destination: '/topic/chat/lobby', body: `hi ${i}` });
    await waitUntil(() => got.length === 20);
    await new Promise((r) => setTimeout(r, 60));
    const snap = await get();

    expect(snap.server).toMatch(/^stompkit\//);
    expect(snap.sessionCount).toBe(3);
    const users = snap.sessions.map((s) => s.user);
    expect(users).toEqual(['alice', 'bob', null]); // oldest first
    const [a, b, anon] = snap.sessions;
    expect(a).toMatchObject({ user: 'alice', version: '1.2', state: 'connected', transport: 'websocket', origin: 'https://app.example', remoteAddress: '127.0.0.1', subscriptions: 1 });
    expect(b).toMatchObject({ user: 'bob', subscriptions: 2 });
    expect(anon).toMatchObject({ user: null, version: '1.1', origin: null });
    expect(typeof a.id).toBe('string');
    expect(a.age).toBeGreaterThanOrEqual(0);
    expect(a.connectedAt).toBeLessThanOrEqual(snap.at);
    expect(a.outboundBytes).toBe(0);
    expect(snap.destinations).toEqual([
      { destination: '/topic/chat/lobby', subscriptions: 2 },
      { destination: '/topic/chat/<script>', subscriptions: 1 },
    ]);
    expect(snap.queues).toEqual([{ destination: '/queue/jobs', depth: 2 }]);
    expect(snap.stats.sessionsByVersion).toEqual({ '1.0': 0, '1.1': 1, '1.2': 2 });
    expect(snap.stats.messagesIn['/topic']).toBe(10);
    expect(snap.stats.messagesOut['/topic']).toBe(20);
    expect(snap.rates).not.toBeNull();
    expect(snap.rates!.messagesIn).toBeGreaterThan(0);
    expect(snap.rates!.messagesOut).toBeCloseTo(snap.rates!.messagesIn * 2, 5);
    expect(snap.history.length).toBe(1);
    expect(snap.history[0]).toEqual(snap.rates);
  });

  it('lists at most maxSessions sessions and says how many there are', async () => {
    const { inspector, url } = await start({ maxSessions: 2 });
    for (let i = 0; i < 3; i++) raws.push(await RawClient.connect(url));
    const snap = inspector.snapshot();
    expect(snap.sessions).toHaveLength(2);
    expect(snap.sessionCount).toBe(3);
  });
});

/** Subscribes and resolves once the subscription is live (its RECEIPT arrived). */
async function subscribe(client: Client, destination: string, onMessage: (body: string) => void): Promise<void> {
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, (m) => onMessage(m.body), { receipt });
  await confirmed;
}

async function waitUntil(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
