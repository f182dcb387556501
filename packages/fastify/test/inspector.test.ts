/**
 * The plugin's `inspector` option on Fastify 5: off unless configured, routes guarded by a
 * preHandler that runs after the app's auth hooks (403 unless authorize(request) allows), the
 * page and data.json otherwise.
 */
import type { AddressInfo } from 'node:net';
import type { Client } from '@stomp/stompjs';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import request from 'supertest';
import { createBroker, type InspectorSnapshot } from '@stompkit/core';
import { stompPlugin, type FastifyInspectorOptions } from '@stompkit/fastify';
import { stompjsConnect } from '../../core/test/transport/ws-helpers';

const apps: FastifyInstance[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

type WithUser = FastifyRequest & { user: { name: string; admin: boolean } | null };

async function start(inspector?: FastifyInspectorOptions, fastifyOptions = {}): Promise<{ app: FastifyInstance; url: string }> {
  const broker = createBroker({ heartbeat: [0, 0], logger: false, authenticate: (info) => (info.login ? { name: info.login } : undefined) });
  const app = Fastify(fastifyOptions);
  apps.push(app);
  // A stand-in for @fastify/jwt: `Authorization: Bearer <name>` → request.user ('root' is an admin).
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req) => {
    const match = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '');
    if (match !== null) (req as WithUser).user = { name: match[1], admin: match[1] === 'root' };
  });
  await app.register(stompPlugin, { broker, inspector });
  app.get('/health', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws` };
}

const isAdmin = (request: FastifyRequest): boolean => (request as WithUser).user?.admin === true;
const root = { authorization: 'Bearer root' };

/** A real HTTP request (supertest; light-my-request's inject does not load under jest here). */
async function inject(app: FastifyInstance, options: { url: string; method?: 'GET' | 'HEAD'; headers?: Record<string, string> }) {
  const req = options.method === 'HEAD' ? request(app.server).head(options.url) : request(app.server).get(options.url);
  const res = await req.set(options.headers ?? {});
  return { statusCode: res.status, headers: res.headers, body: res.text, json: () => res.body as unknown };
}

describe('inspector option of the Fastify plugin', () => {
  it('serves nothing unless configured', async () => {
    const { app } = await start();
    expect((await inject(app, { url: '/stomp-inspector', headers: root })).statusCode).toBe(404);
  });

  it('refuses to register without an authorize hook', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(stompPlugin, { broker: createBroker({ logger: false }), inspector: {} as never }).ready()).rejects.toThrow(/authorize/);
  });

  it('answers 403 unless authorize(request) allows, after the app’s auth hooks ran', async () => {
    const { app } = await start({ authorize: isAdmin });
    for (const url of ['/stomp-inspector', '/stomp-inspector/', '/stomp-inspector/data.json']) {
      const anonymous = await inject(app, { url });
      expect(anonymous.statusCode).toBe(403);
      expect(anonymous.body).toBe('Forbidden');
      expect((await inject(app, { url, headers: { authorization: 'Bearer alice' } })).statusCode).toBe(403);
      expect((await inject(app, { url, headers: root })).statusCode).toBe(200);
    }
    const page = await inject(app, { url: '/stomp-inspector', headers: root });
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'nonce-[^']+'/);
    expect(page.body).toContain('<canvas data-testid="chart"');
    const head = await inject(app, { method: 'HEAD', url: '/stomp-inspector/data.json', headers: root });
    expect(head.statusCode).toBe(200);
    expect((await inject(app, { url: '/health' })).json()).toEqual({ ok: true });
  });

  it('serves the live sessions as JSON at a custom path, with an async authorize', async () => {
    const { app, url } = await start({ path: '/ops/stomp/', authorize: async (request) => isAdmin(request) });
    const { client } = await stompjsConnect(url, { connectHeaders: { login: 'alice' } });
    clients.push(client);
    const res = await inject(app, { url: '/ops/stomp/data.json', headers: root });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const snap = res.json() as InspectorSnapshot;
    expect(snap.sessions).toEqual([expect.objectContaining({ user: 'alice', version: '1.2', state: 'connected', subscriptions: 0 })]);
    expect(snap.stats.connections).toBe(1);
    expect((await inject(app, { url: '/ops/stomp', headers: root })).statusCode).toBe(200);
    expect((await inject(app, { url: '/stomp-inspector', headers: root })).statusCode).toBe(404);
  });

  it('works with ignoreTrailingSlash', async () => {
    const { app } = await start({ authorize: isAdmin }, { routerOptions: { ignoreTrailingSlash: true } });
    expect((await inject(app, { url: '/stomp-inspector/', headers: root })).statusCode).toBe(200);
    expect((await inject(app, { url: '/stomp-inspector', headers: root })).statusCode).toBe(200);
  });

  it('answers 500 when authorize throws', async () => {
    const { app } = await start({
      authorize: () => {
        throw new Error('down');
      },
    });
    expect((await inject(app, { url: '/stomp-inspector', headers: root })).statusCode).toBe(500);
  });
});
