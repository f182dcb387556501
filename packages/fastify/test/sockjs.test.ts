/**
 * SockJS through @stompkit/fastify (`register(stompPlugin, { broker, sockjs: true })`):
 * sockjs-client in Node with each transport forced in turn, behind the app's own onRequest auth
 * hook — with the plugin's own @fastify/websocket and with one the app registered itself.
 */
import type { AddressInfo } from 'node:net';
import { Client as StompClient, type Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import request from 'supertest';
import { createBroker, silentLogger } from '@stompkit/core';
import { stompPlugin } from '@stompkit/fastify';
import { SOCKJS_RECEIVE_PATHS, SOCKJS_TRANSPORTS, sockJsClient, sockJsConnected } from '../../core/test/helpers/sockjs-client';
import { listen } from '../../core/test/helpers/inbox';

const apps: FastifyInstance[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** `/info` is public; everything else needs `?token=good`, as an auth hook would demand a JWT. Records what it refused. */
async function start(options: { ownWebsocket?: boolean; refused?: string[] } = {}) {
  const broker = createBroker({ logger: silentLogger });
  const app = Fastify();
  apps.push(app);
  if (options.ownWebsocket === true) await app.register(fastifyWebsocket);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname.endsWith('/info') || url.searchParams.get('token') === 'good') {
      (req as FastifyRequest & { user?: unknown }).user = { name: 'bob' };
      return;
    }
    options.refused?.push(url.pathname);
    return reply.code(401).send('token required');
  });
  await app.register(stompPlugin, { broker, sockjs: true, shutdown: { timeout: 500 } });
  app.post('/echo', async (req) => req.body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { broker, app, base };
}

describe.each([
  ['the plugin’s @fastify/websocket', false],
  ['the app’s own @fastify/websocket', true],
])('SockJS on Fastify with %s', (_name, ownWebsocket) => {
  describe.each(SOCKJS_TRANSPORTS)('over %s', (transport) => {
    it('connects with the principal the auth hook established, and it sticks to the session', async () => {
      const { broker, base } = await start({ ownWebsocket });
      const client = sockJsClient(`${base}/sockjs?token=good`, transport);
      clients.push(client);
      const connected = await sockJsConnected(client);
      expect(connected['user-name']).toBe('bob');
      const inbox = await listen(client, '/topic/fastify');
      const receipt = new Promise<void>((resolve) => client.watchForReceipt('r1', () => resolve()));
      client.publish({ destination: '/topic/fastify', body: 'via fastify', headers: { receipt: 'r1' } });
      await receipt;
      expect((await inbox.next()).body).toBe('via fastify');
      const [session] = [...broker.sessions.values()];
      expect(session.user?.name).toBe('bob');
      expect(session.transport).toBe(`sockjs/${transport}`);
    });

    it('opens no session when the auth hook refuses the transport request', async () => {
      const refused: string[] = [];
      const { broker, base } = await start({ ownWebsocket, refused });
      const client = sockJsClient(`${base}/sockjs?token=bad`, transport);
      clients.push(client);
      await expect(sockJsConnected(client)).rejects.toThrow(/closed before CONNECTED/);
      expect(refused.some((p) => p.endsWith(SOCKJS_RECEIVE_PATHS[transport]))).toBe(true);
      expect(broker.stats().connectionsOpened).toBe(0);
    });
  });

  it('leaves the app’s body parsing alone outside the SockJS path', async () => {
    const { app } = await start({ ownWebsocket });
    const response = await request(app.server).post('/echo?token=good').send({ a: 1 });
    expect(response.body).toEqual({ a: 1 });
  });

  it('serves SockJS at the STOMP path itself, as a Spring endpoint with withSockJS() does', async () => {
    const broker = createBroker({ logger: silentLogger });
    const app = Fastify();
    apps.push(app);
    if (ownWebsocket) await app.register(fastifyWebsocket);
    await app.register(stompPlugin, { broker, path: '/gs-guide-websocket', sockjs: { path: '/gs-guide-websocket' }, shutdown: { timeout: 500 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/gs-guide-websocket`;
    const plain = new StompClient({ webSocketFactory: () => new WebSocket(base.replace('http', 'ws'), ['v12.stomp']) as never, reconnectDelay: 0 });
    clients.push(plain);
    await sockJsConnected(plain);
    const inbox = await listen(plain, '/topic/spring');
    for (const transport of SOCKJS_TRANSPORTS) {
      const client = sockJsClient(base, transport);
      clients.push(client);
      await sockJsConnected(client);
      client.publish({ destination: '/topic/spring', body: `over ${transport}` });
      expect((await inbox.next()).body).toBe(`over ${transport}`);
    }
    expect([...broker.sessions.values()].map((s) => s.transport).sort()).toEqual(['websocket', ...SOCKJS_TRANSPORTS.map((t) => `sockjs/${t}`)].sort());
  });

  it('refuses /info to a foreign origin', async () => {
    const { app } = await start({ ownWebsocket });
    expect((await request(app.server).get('/sockjs/info')).status).toBe(200);
    expect((await request(app.server).get('/sockjs/info').set('Origin', 'https://evil.example')).status).toBe(403);
  });
});
