/**
 * The chat demo on both flavours (Express and Fastify), driven by @stomp/stompjs 7 as the page
 * drives it, plus the guarantees it keeps as a conformance target: anonymous clients, any
 * /topic and /queue destination, STOMP_HEARTBEAT.
 */
import request from 'supertest';
import type { StompBroker } from '@stompkit/core';
import { heartbeatFromEnv, listenTcpFromEnv, portFromEnv, tcpPortFromEnv, MAX_TEXT_LENGTH } from '../src/chat';
import { Clients, flavours, listen, publishJson, sendJson, type Running } from './support';

// stompit ships no types; this suite uses connect, send and destroy.
const stompit = require('stompit') as { connect: (options: object, callback: (err: Error | null, client: any) => void) => void };

describe.each(flavours)('chat demo on %s', (_name, start) => {
  let server: Running;
  const clients = new Clients(() => server);

  beforeEach(async () => {
    server = await start(0, { env: {}, logger: false });
  });

  afterEach(async () => {
    await clients.closeAll();
    await server.close();
  });

  it('serves the page, the stompjs bundle and /health', async () => {
    const page = await request(server.url).get('/').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('data-testid="messages"');
    expect(page.text).toContain('/vendor/stomp.umd.min.js');
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    const bundle = await request(server.url).get('/vendor/stomp.umd.min.js').expect(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    expect(bundle.text).toContain('StompJs');
    await request(server.url).get('/app.js').expect(200).expect('content-type', /javascript/);
    await request(server.url).get('/style.css').expect(200).expect('content-type', /css/);
    const healthy = await request(server.url).get('/health').expect(200);
    expect(healthy.body).toMatchObject({ ok: true, sessions: 0, users: 0 });
    await request(server.url).get('/nope').expect(404);
  });

  it('broadcasts a room message as {from, text, at} on /topic/chat/{room}', async () => {
    const alice = await clients.as('alice');
    const bob = await clients.as('bob');
    const bobRoom = await listen(bob, '/topic/chat/lobby');
    const bobOther = await listen(bob, '/topic/chat/other');
    await sendJson(alice, '/app/chat/lobby', { text: 'hello, bob' });
    const m = await bobRoom.next();
    expect(m.headers.destination).toBe('/topic/chat/lobby');
    const body = JSON.parse(m.body);
    expect(body).toEqual({ id: expect.any(String), from: 'alice', text: 'hello, bob', at: expect.any(String) });
    expect(Date.now() - Date.parse(body.at)).toBeLessThan(10_000);
    expect(bobOther.messages).toHaveLength(0);
  });

  it('answers /app/chat/{room}/history with the last 50 messages, oldest first', async () => {
    const alice = await clients.as('alice');
    for (let i = 0; i < 55; i++) {
      alice.publish({ destination: '/app/chat/lobby', body: JSON.stringify({ text: `m${i}` }), headers: { 'content-type': 'application/json' } });
    }
    await sendJson(alice, '/app/chat/other', { text: 'elsewhere' }); // frames are handled in order: all 55 are in
    const carol = await clients.as('carol');
    const history = await listen(carol, '/app/chat/lobby/history');
    const list = await history.nextJson<Array<{ from: string; text: string }>>();
    expect(list).toHaveLength(50);
    expect(list.map((e) => e.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 5}`));
    expect(list.every((e) => e.from === 'alice')).toBe(true);
    const empty = await listen(carol, '/app/chat/quiet/history');
    expect(await empty.nextJson()).toEqual([]);
  });

  it('accepts a body without content-type (JSON text) too', async () => {
    const alice = await clients.as('alice');
    const room = await listen(alice, '/topic/chat/lobby');
    alice.publish({ destination: '/app/chat/lobby', body: '{"text":"no content-type"}' });
    expect((await room.nextJson()).text).toBe('no content-type');
  });

  it('refuses invalid input on /user/queue/errors and keeps the session open', async () => {
    const alice = await clients.as('alice');
    const errors = await listen(alice, '/user/queue/errors');
    const room = await listen(alice, '/topic/chat/lobby');

    publishJson(alice, '/app/chat/lobby', { text: '' });
    expect((await errors.next()).headers.message).toMatch(/text must be a non-empty string/);
    publishJson(alice, '/app/chat/lobby', { text: 'x'.repeat(MAX_TEXT_LENGTH + 1) });
    expect((await errors.next()).headers.message).toMatch(/at most 2000 characters/);
    publishJson(alice, '/app/chat/Not_A_Room', { text: 'hi' });
    expect((await errors.next()).headers.message).toMatch(/room names/);
    publishJson(alice, '/app/chat/lobby', 'just a string');
    expect((await errors.next()).headers.message).toMatch(/JSON object/);
    publishJson(alice, '/app/dm', { to: 'nobody', text: 'hi' });
    expect((await errors.next()).headers.message).toMatch(/nobody is not online/);

    await sendJson(alice, '/app/chat/lobby', { text: 'x'.repeat(MAX_TEXT_LENGTH) });
    expect((await room.nextJson()).text).toHaveLength(MAX_TEXT_LENGTH);
    expect(room.messages).toHaveLength(0);
    expect(alice.connected).toBe(true);
  });

  it('delivers a DM to every session of the target and echoes it to the sender, nobody else', async () => {
    const alice1 = await clients.as('alice');
    const alice2 = await clients.as('alice');
    const bob1 = await clients.as('bob');
    const bob2 = await clients.as('bob');
    const carol = await clients.as('carol');
    const inbox = {
      alice1: await listen(alice1, '/user/queue/dm'),
      alice2: await listen(alice2, '/user/queue/dm'),
      bob1: await listen(bob1, '/user/queue/dm'),
      bob2: await listen(bob2, '/user/queue/dm'),
      carol: await listen(carol, '/user/queue/dm'),
    };
    const carolRoom = await listen(carol, '/topic/chat/lobby');

    await sendJson(alice1, '/app/dm', { to: 'bob', text: 'psst' });
    const expected = { id: expect.any(String), from: 'alice', to: 'bob', text: 'psst', at: expect.any(String) };
    for (const box of [inbox.bob1, inbox.bob2, inbox.alice1, inbox.alice2]) {
      const m = await box.next();
      expect(m.headers.destination).toBe('/user/queue/dm');
      expect(JSON.parse(m.body)).toEqual(expected);
    }
    // carol got nothing: the next thing she receives is a DM meant for her.
    await sendJson(bob1, '/app/dm', { to: 'carol', text: 'for carol' });
    expect(await inbox.carol.nextJson()).toMatchObject({ from: 'bob', to: 'carol', text: 'for carol' });
    expect(carolRoom.messages).toHaveLength(0);
    for (const box of [inbox.alice1, inbox.alice2]) expect(box.messages).toHaveLength(0);
  });

  it('cannot subscribe to another user’s destination', async () => {
    const mallory = await clients.as('mallory');
    await expect(
      new Promise<string>((resolve) => {
        mallory.onStompError = (frame) => resolve(frame.headers.message);
        mallory.subscribe('/user/bob/queue/dm', () => undefined);
      }),
    ).resolves.toMatch(/another user/);
  });

  it('publishes the full online list on /topic/presence and answers /app/presence', async () => {
    const alice = await clients.as('alice');
    const presence = await listen(alice, '/topic/presence');
    const now = await listen(alice, '/app/presence');
    expect(await now.nextJson()).toEqual({ users: ['alice'] });

    const { client: bob } = await clients.connect({ login: 'bob' });
    expect(await presence.nextJson()).toEqual({ users: ['alice', 'bob'] });
    const bob2 = await clients.as('bob'); // a second session of an online user changes nothing
    await bob.deactivate();
    await bob2.deactivate();
    expect(await presence.nextJson()).toEqual({ users: ['alice'] });
    expect(presence.messages).toHaveLength(0);
    const healthy = await request(server.url).get('/health').expect(200);
    expect(healthy.body.users).toBe(1);
  });

  it('takes the user name from ?user= on the handshake when CONNECT has no login', async () => {
    const { client: dave } = await clients.connect({ query: '?user=dave' });
    const room = await listen(dave, '/topic/chat/lobby');
    await sendJson(dave, '/app/chat/lobby', { text: 'via query' });
    expect(await room.nextJson()).toMatchObject({ from: 'dave', text: 'via query' });
    // A CONNECT login wins over the query.
    const { client: eve } = await clients.connect({ query: '?user=notme', login: 'eve' });
    await sendJson(eve, '/app/chat/lobby', { text: 'login wins' });
    expect(await room.nextJson()).toMatchObject({ from: 'eve' });
  });

  it('still serves anonymous clients on any /topic and /queue destination (conformance target)', async () => {
    const { client: a } = await clients.connect();
    const { client: b } = await clients.connect();
    const topic = await listen(b, '/topic/conformance/any-thing');
    const queue = await listen(b, '/queue/conformance-q');
    a.publish({ destination: '/topic/conformance/any-thing', body: 'plain text' });
    a.publish({ destination: '/queue/conformance-q', body: 'queued' });
    expect((await topic.next()).body).toBe('plain text');
    expect((await queue.next()).body).toBe('queued');

    // Anonymous users have no name: chatting is refused (on their own error destination), the session stays.
    const errors = await listen(a, '/user/queue/errors');
    publishJson(a, '/app/chat/lobby', { text: 'who am I' });
    expect((await errors.next()).headers.message).toMatch(/needs a user name/);
    expect(a.connected).toBe(true);
    const healthy = await request(server.url).get('/health').expect(200);
    expect(healthy.body).toMatchObject({ sessions: 2, users: 0 });
  });

  it('POST /api/announce broadcasts to /topic/chat/lobby through the template', async () => {
    const bob = await clients.as('bob');
    const room = await listen(bob, '/topic/chat/lobby');
    const res = await request(server.url).post('/api/announce').send({ text: 'maintenance at noon' }).expect(202);
    expect(res.body).toMatchObject({ from: 'server', text: 'maintenance at noon', announcement: true });
    expect(await room.nextJson()).toEqual(res.body);
    await request(server.url).post('/api/announce').send({ text: '' }).expect(400);
    await request(server.url).post('/api/announce').send({ nope: 1 }).expect(400);
    await request(server.url).post('/api/announce').set('content-type', 'application/json').send('{bad').expect(400);
    expect(room.messages).toHaveLength(0);
  });
});

describe.each(flavours)('STOMP_HEARTBEAT on %s', (_name, start) => {
  let server: Running | undefined;
  const clients = new Clients(() => server!);

  afterEach(async () => {
    await clients.closeAll();
    await server?.close();
    server = undefined;
  });

  it('sets the heart-beat the CONNECTED frame offers', async () => {
    server = await start(0, { env: { STOMP_HEARTBEAT: '3000,4500' }, logger: false });
    const { headers } = await clients.connect();
    expect(headers['heart-beat']).toBe('3000,4500');
  });

  it('defaults to 10000,10000', async () => {
    server = await start(0, { env: {}, logger: false });
    const { headers } = await clients.connect();
    expect(headers['heart-beat']).toBe('10000,10000');
  });
});

describe('environment parsing', () => {
  it('parses STOMP_HEARTBEAT', () => {
    expect(heartbeatFromEnv(undefined)).toBeUndefined();
    expect(heartbeatFromEnv('')).toBeUndefined();
    expect(heartbeatFromEnv('0,0')).toEqual([0, 0]);
    expect(heartbeatFromEnv(' 100 , 200 ')).toEqual([100, 200]);
    expect(() => heartbeatFromEnv('100')).toThrow(/STOMP_HEARTBEAT/);
    expect(() => heartbeatFromEnv('-1,5')).toThrow(/STOMP_HEARTBEAT/);
  });

  it('parses PORT', () => {
    expect(portFromEnv(undefined)).toBe(8080);
    expect(portFromEnv('9000')).toBe(9000);
    expect(() => portFromEnv('http')).toThrow(/PORT/);
    expect(() => portFromEnv('70000')).toThrow(/PORT/);
  });
});

describe('STOMP_TCP_PORT', () => {
  it('is unset by default (no TCP listener: RabbitMQ may hold 61613), and parsed as a port when given', () => {
    expect(tcpPortFromEnv(undefined)).toBeUndefined();
    expect(tcpPortFromEnv('')).toBeUndefined();
    expect(tcpPortFromEnv('61614')).toBe(61614);
    expect(() => tcpPortFromEnv('stomp')).toThrow(/port number/);
  });

  it.each(flavours)('on %s, a TCP client (stompit) chats with a WebSocket user through the same broker', async (_name, start) => {
    const server = (await start(0, { env: {}, logger: false })) as Running & { broker: StompBroker };
    const clients = new Clients(() => server);
    try {
      expect(await listenTcpFromEnv(server.broker, {})).toBeUndefined();
      const tcp = (await listenTcpFromEnv(server.broker, { STOMP_TCP_PORT: '0' }))!;
      expect(tcp.address.address).toBe('127.0.0.1');
      const alice = await clients.as('alice');
      const lobby = await listen(alice, '/topic/chat/lobby');
      const service = await new Promise<any>((resolve, reject) => {
        stompit.connect({ host: '127.0.0.1', port: tcp.port, connectHeaders: { host: '/', login: 'svc', 'heart-beat': '0,0' } }, (err: Error | null, client: any) =>
          err ? reject(err) : resolve(client),
        );
      });
      service.on('error', () => {});
      const frame = service.send({ destination: '/app/chat/lobby', 'content-type': 'application/json' });
      frame.end(JSON.stringify({ text: 'hello from a backend service' }));
      expect(await lobby.nextJson()).toMatchObject({ from: 'svc', text: 'hello from a backend service' });
      service.destroy();
    } finally {
      await clients.closeAll();
      await server.close();
    }
  });
});
