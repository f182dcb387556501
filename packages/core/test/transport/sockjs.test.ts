/**
 * STOMP over SockJS on core's `attach(server, { sockjs })`: sockjs-client 1.x in Node (under
 * @stomp/stompjs 7, and under stomp.js 2.3 as Spring's tutorials wrote it) with each
 * transport forced in turn, raw SockJS requests for what a client cannot be made to do (stop
 * polling, send oversized bodies), and supertest for the HTTP-only endpoints (/info, iframe).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import WebSocket from 'ws';
import { createBroker, silentLogger, type BrokerOptions, type HandshakeInterceptor, type StompBroker, type StompSession } from '../../src';
import type { SockJsOptions } from '../../src/transport/sockjs';
import { nextStompError, SOCKJS_RECEIVE_PATHS, SOCKJS_TRANSPORTS, sockJsClient, sockJsConnected } from '../helpers/sockjs-client';
import { listen } from '../helpers/inbox';
import { nextEvent } from './ws-helpers';
import { Client as StompClient, type Client } from '@stomp/stompjs';

interface Running {
  broker: StompBroker;
  http: Server;
  base: string;
  url: string;
}

const running: Running[] = [];
const clients: Client[] = [];

async function start(options: BrokerOptions = {}, sockjs: SockJsOptions = {}): Promise<Running> {
  const broker = createBroker({ logger: silentLogger, ...options });
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('app');
  });
  broker.attach(http, { sockjs });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const r = { broker, http, base, url: `${base}${sockjs.path ?? '/sockjs'}` };
  running.push(r);
  return r;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  for (const r of running.splice(0)) {
    await r.broker.close({ timeout: 500 });
    r.http.closeAllConnections();
    await new Promise<void>((resolve) => r.http.close(() => resolve()));
  }
});

function track(client: Client): Client {
  clients.push(client);
  return client;
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `ms`. */
async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function onlySession(broker: StompBroker): StompSession {
  const sessions = [...broker.sessions.values()];
  expect(sessions).toHaveLength(1);
  return sessions[0];
}

describe.each(SOCKJS_TRANSPORTS)('STOMP over SockJS %s', (transport) => {
  it('connects, subscribes, sends, receives and answers receipts', async () => {
    const { broker, url } = await start();
    const client = track(sockJsClient(url, transport));
    const connected = await sockJsConnected(client);
    expect(connected.version).toBe('1.2');
    expect(onlySession(broker).transport).toBe(`sockjs/${transport}`);

    const inbox = await listen(client, '/topic/greetings');
    const receipt = new Promise<void>((resolve) => client.watchForReceipt('sent-1', () => resolve()));
    client.publish({ destination: '/topic/greetings', body: 'héllo över SockJS', headers: { receipt: 'sent-1' } });
    await receipt;
    const message = await inbox.next();
    expect(message.body).toBe('héllo över SockJS');
    expect(message.headers.destination).toBe('/topic/greetings');
    expect(broker.stats().messagesIn).toMatchObject({ '/topic': 1 });
  });

  it('answers a bad frame with an ERROR carrying a message header, then closes the session', async () => {
    const { broker, url } = await start();
    const client = track(sockJsClient(url, transport));
    await sockJsConnected(client);
    const error = nextStompError(client);
    const ended = nextEvent<[StompSession]>(broker, 'disconnect');
    client.webSocket!.send('BOGUS\n\n\0');
    expect((await error).headers.message).toMatch(/BOGUS|command/i);
    await ended;
    expect(broker.sessions.size).toBe(0);
  });

  it('delivers a body that is not UTF-8 as base64 marked content-transfer-encoding:base64, and UTF-8 text as is', async () => {
    const { broker, url } = await start();
    const client = track(sockJsClient(url, transport));
    await sockJsConnected(client);
    const inbox = await listen(client, '/topic/blobs');
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);
    await broker.publish('/topic/blobs', bytes, { headers: { 'content-type': 'application/octet-stream' } });
    await broker.publish('/topic/blobs', Buffer.from('plain text'), { headers: { 'content-type': 'application/octet-stream' } });
    const binary = await inbox.next();
    expect(binary.headers['content-transfer-encoding']).toBe('base64');
    expect(binary.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.from(binary.body, 'base64')).toEqual(bytes);
    const text = await inbox.next();
    expect(text.headers['content-transfer-encoding']).toBeUndefined();
    expect(text.body).toBe('plain text');
  });

  it('runs the handshake interceptors on the request that opens the session, and a refusal opens no session', async () => {
    const seen: string[] = [];
    const refuse: HandshakeInterceptor = {
      before: (req) => {
        seen.push(req.url ?? '');
        return { status: 401, reason: 'no token' };
      },
    };
    const { broker, url } = await start({ handshake: [refuse] });
    const client = track(sockJsClient(url, transport));
    await expect(sockJsConnected(client)).rejects.toThrow(/closed before CONNECTED/);
    expect(seen.some((u) => u.split('?')[0].endsWith(SOCKJS_RECEIVE_PATHS[transport]))).toBe(true);
    expect(seen.some((u) => u.includes('/info'))).toBe(false);
    expect(broker.stats().connectionsOpened).toBe(0);
  });
});

describe('SockJS sessions', () => {
  it('keep the principal set by the interceptor of their first request through every later poll', async () => {
    let runs = 0;
    const who: HandshakeInterceptor = {
      before: (_req, ctx) => {
        runs++;
        ctx.user = { name: 'alice' };
        ctx.attributes.set('first', true);
      },
    };
    const { broker, url } = await start({ handshake: [who] });
    const client = track(sockJsClient(url, 'xhr-polling'));
    const connected = await sockJsConnected(client);
    expect(connected['user-name']).toBe('alice');
    const inbox = await listen(client, '/topic/a');
    for (let i = 0; i < 3; i++) {
      client.publish({ destination: '/topic/a', body: `m${i}` });
      await inbox.next();
    }
    expect(runs).toBe(1);
    const session = onlySession(broker);
    expect(session.user?.name).toBe('alice');
    expect(session.attributes.get('first')).toBe(true);
  });

  it('serve raw WebSocket at <path>/websocket, as Spring does', async () => {
    const { broker, base } = await start();
    const ws = new WebSocket(`${base.replace('http', 'ws')}/sockjs/websocket`);
    await nextEvent(ws, 'open');
    const reply = nextEvent<[Buffer]>(ws, 'message');
    ws.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0');
    expect(String((await reply)[0])).toMatch(/^CONNECTED\n/);
    expect(onlySession(broker).transport).toBe('sockjs/websocket-raw');
    ws.close();
  });

  it('negotiate the STOMP sub-protocol on raw WebSocket, so @stomp/stompjs can use <path>/websocket as its brokerURL', async () => {
    const { broker, base } = await start();
    const ws = new WebSocket(`${base.replace('http', 'ws')}/sockjs/websocket`, ['v12.stomp', 'v11.stomp', 'v10.stomp']);
    await nextEvent(ws, 'open');
    expect(ws.protocol).toBe('v12.stomp');
    ws.close();
    // What brokerURL does in a browser: a WebSocket offering the client's STOMP versions as sub-protocols.
    const client = track(new StompClient({ reconnectDelay: 0 }));
    client.webSocketFactory = () => new WebSocket(`${base.replace('http', 'ws')}/sockjs/websocket`, client.stompVersions.protocolVersions()) as never;
    const connected = new Promise<string | undefined>((resolve) => (client.onConnect = (frame) => resolve(frame.headers.version)));
    client.activate();
    expect(await connected).toBe('1.2');
    const inbox: string[] = [];
    client.subscribe('/topic/raw', (m) => inbox.push(m.body), { receipt: 'sub' });
    await new Promise<void>((resolve) => client.watchForReceipt('sub', () => resolve()));
    client.publish({ destination: '/topic/raw', body: 'over raw websocket' });
    await until(() => inbox.length === 1, 3000, 'the MESSAGE');
    expect(inbox).toEqual(['over raw websocket']);
    expect(onlySession(broker).transport).toBe('sockjs/websocket-raw');
  });

  it('end with ERROR "server shutting down" when the broker closes', async () => {
    const { broker, url } = await start();
    const client = track(sockJsClient(url, 'xhr-streaming'));
    await sockJsConnected(client);
    const error = nextStompError(client);
    const closing = broker.close({ timeout: 1000 });
    expect((await error).headers.message).toBe('server shutting down');
    await closing;
    expect(broker.sessions.size).toBe(0);
  });

  it('refuse a frame over maxFrameBytes with an ERROR naming the limit', async () => {
    const { url } = await start({ limits: { maxFrameBytes: 4096 } });
    const client = track(sockJsClient(url, 'xhr-streaming'));
    await sockJsConnected(client);
    const error = nextStompError(client);
    client.publish({ destination: '/topic/big', body: 'x'.repeat(8000) });
    expect((await error).headers.message).toMatch(/maxFrameBytes/);
  });

  it('stay alive while idle: SockJS heart-beats and STOMP heart-beats both flow and neither side times out', async () => {
    // 250 ms periods: short enough for ten of them in a test, long enough that a loaded CI
    // machine's timer delays stay inside the silence windows (two periods on each side).
    const { broker, url } = await start({ heartbeat: [250, 250] }, { heartbeatDelay: 125 });
    const client = track(sockJsClient(url, 'xhr-streaming', { heartbeatIncoming: 250, heartbeatOutgoing: 250 }));
    await sockJsConnected(client);
    let ended = false;
    broker.on('disconnect', () => (ended = true));
    const started = Date.now();
    // Ten STOMP heart-beat periods of silence from the application.
    await until(() => Date.now() - started > 2500, 4000, 'ten heart-beat periods');
    expect(ended).toBe(false);
    expect(client.connected).toBe(true);
    expect(broker.stats().heartbeatTimeouts).toBe(0);
  });
});

describe('SockJS raw protocol', () => {
  /** A SockJS session driven with plain HTTP, as sockjs-client's xhr-polling does. */
  async function rawSession(r: Running): Promise<{ poll(): Promise<string>; send(...frames: string[]): Promise<Response> }> {
    const prefix = `${r.url}/000/${Math.random().toString(36).slice(2)}`;
    const poll = async (): Promise<string> => (await fetch(`${prefix}/xhr`, { method: 'POST' })).text();
    expect(await poll()).toBe('o\n');
    return {
      poll,
      send: (...frames) => fetch(`${prefix}/xhr_send`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(frames) }),
    };
  }

  it('closes a client that stops polling as a slow consumer once its backlog passes maxOutboundBytes', async () => {
    const r = await start({ limits: { outboundHighWaterMark: 1024, maxOutboundBytes: 4096 } });
    const session = await rawSession(r);
    expect((await session.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0', 'SUBSCRIBE\nid:1\ndestination:/topic/flood\n\n\0')).status).toBe(204);
    expect(await session.poll()).toMatch(/CONNECTED/);
    const slow = nextEvent<[StompSession, { action: string }]>(r.broker, 'slow-consumer');
    const ended = nextEvent<[StompSession]>(r.broker, 'disconnect');
    for (let i = 0; i < 20; i++) await r.broker.publish('/topic/flood', 'y'.repeat(500));
    expect((await slow)[1]).toEqual({ action: 'closed', limit: 'maxOutboundBytes' });
    await ended;
    expect(r.broker.stats().disconnects['slow-consumer']).toBe(1);
  });

  it('answers a POST body over maxMessageBytes with 413 and closes the session (1009)', async () => {
    const r = await start({}, { maxMessageBytes: 2048 });
    const session = await rawSession(r);
    await session.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0');
    expect(await session.poll()).toMatch(/CONNECTED/);
    const ended = nextEvent<[StompSession]>(r.broker, 'disconnect');
    const response = await session.send(`SEND\ndestination:/topic/x\n\n${'z'.repeat(4000)}\0`);
    expect(response.status).toBe(413);
    await ended;
    expect(r.broker.stats().limitsExceeded.maxPayload).toBe(1);
  });

  it('holds frames that arrive while an async authenticator runs and applies them in order', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const r = await start({
      authenticate: async (info) => {
        await gate;
        return { name: info.login ?? 'nobody' };
      },
    });
    const session = await rawSession(r);
    // One POST, three frames: SockJS hands them over in one go while CONNECT is still pending.
    const sent = await session.send(
      'CONNECT\naccept-version:1.2\nhost:x\nlogin:carol\n\n\0',
      'SUBSCRIBE\nid:1\ndestination:/topic/order\nreceipt:r1\n\n\0',
      'SEND\ndestination:/topic/order\n\nfirst\0',
    );
    expect(sent.status).toBe(204);
    release();
    let received = '';
    while (!received.includes('first')) received += await session.poll();
    const order = ['CONNECTED', 'RECEIPT', 'MESSAGE'].map((command) => received.indexOf(command));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(onlySession(r.broker).user?.name).toBe('carol');
  });

  it('opens many sessions over one keep-alive connection without piling up listeners on its socket', async () => {
    const r = await start();
    const sockets: import('node:net').Socket[] = [];
    r.http.on('connection', (socket) => sockets.push(socket));
    for (let i = 0; i < 15; i++) await rawSession(r);
    await until(() => r.broker.sessions.size === 15, 5000, '15 sessions');
    expect(sockets.length).toBeLessThan(15);
    // Node's own listener plus at most one of ours for a session still being opened.
    for (const socket of sockets) expect(socket.listenerCount('close')).toBeLessThanOrEqual(2);
  });

  it('refuses JSONP: a script include can be neither origin-checked nor kept from cookies', async () => {
    const r = await start();
    const response = await request(r.http).get('/sockjs/000/abc/jsonp?c=cb');
    expect(response.status).toBe(404);
  });
});

describe('SockJS origins', () => {
  it('refuses /info to an origin that is not allowed and answers an allowed one with CORS headers', async () => {
    const r = await start({ allowedOrigins: ['https://app.example'] });
    const refused = await request(r.http).get('/sockjs/info').set('Origin', 'https://evil.example');
    expect(refused.status).toBe(403);
    const allowed = await request(r.http).get('/sockjs/info').set('Origin', 'https://app.example');
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(allowed.body).toMatchObject({ websocket: true });
  });

  it('refuses a transport request from an origin that is not allowed', async () => {
    const r = await start({ allowedOrigins: ['https://app.example'] });
    const response = await request(r.http).post('/sockjs/000/abc/xhr_streaming').set('Origin', 'https://evil.example');
    expect(response.status).toBe(403);
    expect(r.broker.stats().connectionsOpened).toBe(0);
  });

  it('serves the iframe page same-origin only by default, and not at all when allowedOrigins lists origins', async () => {
    const sameOrigin = await start();
    const page = await request(sameOrigin.http).get('/sockjs/iframe.html');
    expect(page.status).toBe(200);
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    const listed = await start({ allowedOrigins: ['https://app.example'] });
    expect((await request(listed.http).get('/sockjs/iframe.html')).status).toBe(404);
  });

  it('answers 404 outside the SockJS path when the server has no request handler', async () => {
    const broker = createBroker({ logger: silentLogger });
    const http = createServer();
    broker.attach(http, { sockjs: true });
    running.push({ broker, http, base: '', url: '' });
    expect((await request(http).get('/elsewhere')).status).toBe(404);
    expect((await request(http).get('/sockjs/info')).status).toBe(200);
  });

  it('leaves requests outside the SockJS path to the app', async () => {
    const r = await start();
    const response = await request(r.http).get('/elsewhere');
    expect(response.text).toBe('app');
  });
});

describe.each(SOCKJS_TRANSPORTS)('stomp.js 2.3 over SockJS %s, as the Spring tutorials wrote it', (transport) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Stomp = require('stompjs') as {
    over(socket: unknown): {
      debug: ((s: string) => void) | null;
      heartbeat: { incoming: number; outgoing: number };
      connect(headers: Record<string, string>, ok: (frame: { headers: Record<string, string> }) => void, err: (e: unknown) => void): void;
      subscribe(dest: string, cb: (m: { body: string; headers: Record<string, string> }) => void): { unsubscribe(): void };
      send(dest: string, headers: Record<string, string>, body: string): void;
      disconnect(cb?: () => void): void;
    };
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const SockJS = require('sockjs-client') as new (url: string, reserved: undefined, options: { transports: string[] }) => unknown;

  it('connects (STOMP 1.1), subscribes, sends and receives with Stomp.over(new SockJS(url))', async () => {
    const { broker, url } = await start();
    const client = Stomp.over(new SockJS(url, undefined, { transports: [transport] }));
    client.debug = null;
    client.heartbeat = { incoming: 0, outgoing: 0 };
    const frame = await new Promise<{ headers: Record<string, string> }>((resolve, reject) => client.connect({ login: 'tutorial' }, resolve, reject));
    expect(frame.headers.version).toBe('1.1');
    const received = new Promise<{ body: string }>((resolve) => client.subscribe('/topic/greetings', resolve));
    // stomp.js 2.3 has no receipts on SUBSCRIBE: wait until the broker registered it.
    await until(() => broker.stats().subscriptions === 1, 5000, 'the subscription');
    client.send('/topic/greetings', {}, JSON.stringify({ name: 'Spring' }));
    expect(JSON.parse((await received).body)).toEqual({ name: 'Spring' });
    const gone = nextEvent(broker, 'disconnect');
    client.disconnect();
    await gone;
  });
});
