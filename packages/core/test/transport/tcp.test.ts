/**
 * STOMP over plain TCP and TLS (src/transport/tcp.ts, `broker.listen`): a byte stream split and
 * joined anywhere, the same broker as WebSocket clients (handlers, user destinations,
 * interceptors, metrics, inspector), CONNECT authentication, slow consumers, shutdown, and TLS
 * with certificates made here (client certificate → principal).
 */
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { generate } from 'selfsigned';
import { reject, type BrokerOptions, type ChannelMessage } from '../../src';
import { InspectorModel } from '../../src/inspector/model';
import type { TcpListener, TcpListenOptions } from '../../src/transport/tcp';
import { RawClient, type RawFrame } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import { untilSessions } from '../fuzz/support';

let server: TestServer | undefined;
let listener: TcpListener;
const clients: RawClient[] = [];

async function start(options: BrokerOptions = {}, listen: TcpListenOptions = {}): Promise<TestServer> {
  server = await startServer({ heartbeat: [0, 0], ...options });
  listener = await server.broker.listen({ port: 0, host: '127.0.0.1', ...listen });
  return server;
}

function tcpUrl(): string {
  return `tcp://127.0.0.1:${listener.port}`;
}

async function tcpClient(headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await RawClient.connect(tcpUrl(), { 'accept-version': '1.2', host: 'localhost', ...headers });
  clients.push(c);
  return c;
}

async function wsClient(headers: Record<string, string> = {}): Promise<RawClient> {
  const c = await RawClient.connect(server!.url, { 'accept-version': '1.2', host: 'localhost', ...headers });
  clients.push(c);
  return c;
}

async function subscribe(c: RawClient, destination: string, extra: Record<string, string> = {}): Promise<void> {
  c.send('SUBSCRIBE', { id: 'sub-' + destination, destination, receipt: 'sub-' + destination, ...extra });
  await c.expect('RECEIPT');
}

/** A raw TCP socket (no client at all), for writing bytes exactly as a test wants them split. */
async function rawSocket(port: number): Promise<{ socket: Socket; received: () => string; ended: Promise<void> }> {
  const socket = netConnect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, ended };
}

/** Resolves once `predicate` holds, re-checked every 10 ms; rejects after `timeoutMs`. */
async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const c of clients.splice(0)) if (!c.closed) c.terminate();
  await server?.close();
  server = undefined;
});

describe('the TCP byte stream', () => {
  it('reassembles frames written one byte at a time, and reads several frames and heart-beat EOLs from one chunk', async () => {
    await start();
    const watcher = await wsClient();
    await subscribe(watcher, '/topic/stream');
    const raw = await rawSocket(listener.port);
    const connect = Buffer.from('CONNECT\naccept-version:1.2\nhost:localhost\n\n\0');
    for (const byte of connect) {
      raw.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => raw.received().includes('CONNECTED'), 'CONNECTED');
    // Three frames, an EOL heart-beat before, between and after, and a fourth frame cut in two.
    raw.socket.write(
      '\n' +
        'SEND\ndestination:/topic/stream\n\none\0\r\n' +
        'SEND\ndestination:/topic/stream\ncontent-length:3\n\nt\0o\0\n\n' +
        'SEND\ndestination:/topic/stream\n\nthree\0\n' +
        'SEND\ndestination:/topic/str',
    );
    raw.socket.write('eam\nreceipt:done\n\nfour\0');
    await until(() => raw.received().includes('receipt-id:done'), 'the RECEIPT');
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await watcher.expect('MESSAGE')).body.toString('latin1'));
    expect(bodies).toEqual(['one', 't\0o', 'three', 'four']);
    raw.socket.destroy();
  });

  it('a frame over maxFrameBytes split across chunks is refused with an ERROR naming the limit, then the connection closes', async () => {
    await start({ limits: { maxFrameBytes: 1024 } });
    const c = await tcpClient();
    c.raw('SEND\ndestination:/topic/big\n\n' + 'x'.repeat(700));
    c.raw('x'.repeat(700) + '\0');
    const error = await c.expectError(/maxFrameBytes|too large|exceeds/);
    expect(error.headers.message.length).toBeGreaterThan(0);
  });
});

describe('one broker for TCP and WebSocket clients', () => {
  it('a TCP client and a WebSocket client exchange messages on a topic in both directions', async () => {
    await start();
    const tcp = await tcpClient();
    const ws = await wsClient();
    await subscribe(tcp, '/topic/both');
    await subscribe(ws, '/topic/both');
    tcp.send('SEND', { destination: '/topic/both', 'content-type': 'text/plain' }, 'from tcp');
    ws.send('SEND', { destination: '/topic/both', 'content-type': 'text/plain' }, 'from ws');
    const atTcp = [await tcp.expect('MESSAGE'), await tcp.expect('MESSAGE')].map((m) => m.body.toString());
    const atWs = [await ws.expect('MESSAGE'), await ws.expect('MESSAGE')].map((m) => m.body.toString());
    expect(atTcp.sort()).toEqual(['from tcp', 'from ws']);
    expect(atWs.sort()).toEqual(['from tcp', 'from ws']);
  });

  it('application handlers and user destinations serve TCP clients; authenticate names them from CONNECT login/passcode', async () => {
    await start({
      authenticate: ({ login, passcode }) => (passcode === 'secret' && login !== undefined ? { name: login } : false),
    });
    server!.broker.handle('/greet', (message, ctx) => ({ hello: ctx.user?.name, said: message.payload }));
    const alice = await tcpClient({ login: 'alice', passcode: 'secret' });
    expect(alice.frames[0].headers['user-name']).toBe('alice');
    const bob = await wsClient({ login: 'bob', passcode: 'secret' });
    await subscribe(alice, '/user/queue/dm');
    await subscribe(bob, '/topic/greet');
    alice.send('SEND', { destination: '/app/greet', 'content-type': 'application/json' }, '"hi"');
    expect(JSON.parse((await bob.expect('MESSAGE')).body.toString())).toEqual({ hello: 'alice', said: 'hi' });
    await server!.broker.template.sendToUser('alice', '/queue/dm', { text: 'psst' });
    expect(JSON.parse((await alice.expect('MESSAGE')).body.toString())).toEqual({ text: 'psst' });
    expect(server!.broker.users.isOnline('alice')).toBe(true);
  });

  it('a refused login gets ERROR and the TCP connection is closed', async () => {
    await start({ authenticate: () => false });
    const c = await RawClient.open(tcpUrl());
    clients.push(c);
    c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', login: 'mallory', passcode: 'guess' });
    await c.expectError('authentication failed');
    await untilSessions(server!.broker, 0);
  });

  it('inbound interceptors see TCP frames and their rejection reaches the TCP client', async () => {
    const seen: string[] = [];
    await start({
      interceptors: {
        inbound: [
          {
            preSend: (m: ChannelMessage) => {
              seen.push(m.command);
              return m.destination === '/topic/forbidden' ? reject('not here') : m;
            },
          },
        ],
      },
    });
    const c = await tcpClient();
    c.send('SEND', { destination: '/topic/ok', receipt: 'ok' }, 'x');
    await c.expect('RECEIPT');
    c.send('SEND', { destination: '/topic/forbidden' }, 'x');
    await c.expectError('not here');
    expect(seen).toEqual(['CONNECT', 'SEND', 'SEND']);
  });

  it('metrics count TCP traffic and the inspector lists the session with transport tcp', async () => {
    await start();
    const c = await tcpClient();
    await wsClient();
    c.send('SEND', { destination: '/topic/count', receipt: 'r' }, 'abc');
    await c.expect('RECEIPT');
    const stats = server!.broker.stats();
    expect(stats.connectionsOpened).toBe(2);
    expect(stats.messagesIn['/topic']).toBe(1);
    const sessions = new InspectorModel(server!.broker).snapshot().sessions;
    expect(sessions.map((s) => s.transport).sort()).toEqual(['tcp', 'websocket']);
    expect(sessions.find((s) => s.transport === 'tcp')!.remoteAddress).toBe('127.0.0.1');
  });
});

describe('flow control and shutdown', () => {
  it('a TCP client that stops reading is closed as a slow consumer, and the others keep getting messages', async () => {
    await start({ limits: { outboundHighWaterMark: 16 * 1024, maxOutboundBytes: 64 * 1024, sendTimeLimit: 0 } });
    const reader = await tcpClient();
    await subscribe(reader, '/topic/flood');
    const stalled = await tcpClient();
    await subscribe(stalled, '/topic/flood');
    stalled.tcp!.socket.pause();
    const slow = new Promise<string>((resolve) => server!.broker.once('slow-consumer', (_s, info) => resolve(info.action)));
    const body = Buffer.alloc(32 * 1024, 0x61);
    let published = 0;
    let action: string | undefined;
    void slow.then((a) => (action = a));
    while (action === undefined && published < 2000) {
      await server!.broker.publish('/topic/flood', body);
      published++;
      // Let the reader's socket drain between publishes, so only the stalled client falls behind.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await slow).toBe('closed');
    // Reading again, the stalled client finds the end of the stream the server closed.
    stalled.tcp!.socket.resume();
    await stalled.waitClosed();
    expect(reader.closed).toBe(false);
    reader.send('SEND', { destination: '/topic/flood', receipt: 'still' }, 'after');
    await reader.waitFor(() => reader.frames.some((f) => f.command === 'RECEIPT'), 5000, 'the RECEIPT');
  });

  it("a TCP client that pauses reading gets every message, in order, once it reads again (the socket's 'drain' empties its backlog)", async () => {
    await start({ limits: { outboundHighWaterMark: 64 * 1024, maxOutboundBytes: 64 * 1024 * 1024, sendTimeLimit: 0 } });
    const c = await tcpClient();
    await subscribe(c, '/topic/burst');
    c.tcp!.socket.pause();
    const session = [...server!.broker.sessions.values()][0];
    const body = Buffer.alloc(32 * 1024, 0x62);
    const count = 600;
    let congested = false;
    for (let i = 0; i < count; i++) {
      body.write(String(i).padStart(4, '0'), 0, 'latin1');
      await server!.broker.publish('/topic/burst', Buffer.from(body));
      // 600 × 32 KiB is more than the kernel's socket buffers hold: the rest waits in the session's backlog.
      congested ||= session.congested;
    }
    expect(congested).toBe(true);
    c.tcp!.socket.resume();
    const messages = (): RawFrame[] => c.frames.filter((f) => f.command === 'MESSAGE');
    await c.waitFor(() => messages().length === count, 15000, `all ${count} messages`);
    expect(messages().map((f) => Number(f.body.toString('latin1', 0, 4)))).toEqual([...Array(count).keys()]);
    await until(() => !session.congested, 'the backlog to drain');
    expect(server!.broker.stats().dropped).toBe(0);
  });

  it('broker.close() tells TCP clients (ERROR), closes them, and stops listening', async () => {
    await start();
    const c = await tcpClient();
    const port = listener.port;
    const closing = server!.broker.close({ timeout: 2000 });
    await c.expectError('server shutting down');
    await closing;
    await expect(RawClient.open(`tcp://127.0.0.1:${port}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('listen() rejects when the port is taken, and the broker serves on', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      await start();
      const port = (taken.address() as AddressInfo).port;
      await expect(server!.broker.listen({ port, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
      const c = await tcpClient();
      await subscribe(c, '/topic/alive');
    } finally {
      taken.close();
    }
  });
});

describe('TLS', () => {
  let ca: { cert: string; key: string };
  let serverCert: { cert: string; key: string };
  let clientCert: { cert: string; key: string };
  let strangerCert: { cert: string; key: string };

  beforeAll(async () => {
    const options = { keyType: 'ec', algorithm: 'sha256' } as const;
    const caKeys = await generate([{ name: 'commonName', value: 'stompkit test CA' }], {
      ...options,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, digitalSignature: true, cRLSign: true },
      ],
    });
    ca = { cert: caKeys.cert, key: caKeys.private };
    const signed = async (cn: string, issuer = ca) => {
      const pems = await generate([{ name: 'commonName', value: cn }], {
        ...options,
        ca: issuer,
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
      });
      return { cert: pems.cert, key: pems.private };
    };
    serverCert = await signed('localhost');
    clientCert = await signed('svc-billing');
    const otherCa = await generate([{ name: 'commonName', value: 'someone else' }], { ...options, extensions: [{ name: 'basicConstraints', cA: true }] });
    strangerCert = await signed('svc-stranger', { cert: otherCa.cert, key: otherCa.private });
  });

  async function tlsClient(options: ConnectionOptions, headers: Record<string, string> = {}): Promise<RawClient> {
    const socket = tlsConnect({ port: listener.port, host: '127.0.0.1', ca: [ca.cert], ...options });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const c = RawClient.overSocket(socket);
    clients.push(c);
    c.send('CONNECT', { 'accept-version': '1.2', host: 'localhost', ...headers });
    await c.expect('CONNECTED');
    return c;
  }

  it('serves STOMP over TLS with a self-signed certificate, to the same subscribers as WebSocket', async () => {
    await start({}, { tls: { cert: serverCert.cert, key: serverCert.key } });
    const ws = await wsClient();
    await subscribe(ws, '/topic/secure');
    const c = await tlsClient({});
    c.send('SEND', { destination: '/topic/secure' }, 'over tls');
    expect((await ws.expect('MESSAGE')).body.toString()).toBe('over tls');
    expect([...server!.broker.sessions.values()].map((s) => s.transport).sort()).toEqual(['tls', 'websocket']);
  });

  it('a trusted client certificate makes its subject CN the principal; authenticate sees it', async () => {
    const seen: Array<string | undefined> = [];
    await start(
      { authenticate: (info) => void seen.push(info.user?.name) },
      { tls: { cert: serverCert.cert, key: serverCert.key, ca: [ca.cert], requestCert: true, rejectUnauthorized: false } },
    );
    const trusted = await tlsClient({ cert: clientCert.cert, key: clientCert.key });
    expect(trusted.frames[0].headers['user-name']).toBe('svc-billing');
    const stranger = await tlsClient({ cert: strangerCert.cert, key: strangerCert.key });
    expect(stranger.frames[0].headers['user-name']).toBeUndefined();
    const anonymous = await tlsClient({});
    expect(anonymous.frames[0].headers['user-name']).toBeUndefined();
    expect(seen).toEqual(['svc-billing', undefined, undefined]);
  });

  it('with rejectUnauthorized a client without a trusted certificate never gets a session', async () => {
    await start({}, { tls: { cert: serverCert.cert, key: serverCert.key, ca: [ca.cert], requestCert: true, rejectUnauthorized: true } });
    await expect(tlsClient({ cert: strangerCert.cert, key: strangerCert.key })).rejects.toThrow();
    expect(server!.broker.sessions.size).toBe(0);
    const trusted = await tlsClient({ cert: clientCert.cert, key: clientCert.key });
    expect(trusted.frames[0].headers['user-name']).toBe('svc-billing');
  });

  it('a custom certificatePrincipal maps the certificate to the principal', async () => {
    await start(
      {},
      {
        tls: { cert: serverCert.cert, key: serverCert.key, ca: [ca.cert], requestCert: true },
        certificatePrincipal: (certificate) => ({ name: `cert:${String(certificate.subject.CN)}` }),
      },
    );
    const c = await tlsClient({ cert: clientCert.cert, key: clientCert.key });
    expect(c.frames[0].headers['user-name']).toBe('cert:svc-billing');
  });
});
