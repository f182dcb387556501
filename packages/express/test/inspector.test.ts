/**
 * `stomp.inspector({ path, authorize })` on an Express app: behind the app's own auth middleware,
 * 403 unless authorize() says yes, the page and data.json otherwise, every other route untouched;
 * also mounted under a sub-path with `app.use('/admin', ...)`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { createBroker, type InspectorSnapshot } from '@stompkit/core';
import { stompExpress, type StompExpress } from '@stompkit/express';
import { stompjsConnect } from '../../core/test/transport/ws-helpers';
import { closeAfterEach } from './support';

interface Running {
  stomp: StompExpress;
  server: Server;
  url: string;
}

const { running, clients } = closeAfterEach<Running>();

type AuthedRequest = Request & { user?: { name: string; admin: boolean } };

/** `Authorization: Bearer <name>` → req.user (admin when the name is 'root'); anonymous otherwise. */
function fakeAuth(req: Request, _res: Response, next: NextFunction): void {
  const match = /^Bearer (\w+)$/.exec(req.get('authorization') ?? '');
  if (match !== null) (req as AuthedRequest).user = { name: match[1], admin: match[1] === 'root' };
  next();
}

async function start(mount: (app: express.Express, stomp: StompExpress) => void): Promise<Running> {
  const broker = createBroker({ heartbeat: [0, 0], logger: false, authenticate: (info) => (info.login ? { name: info.login } : undefined) });
  const stomp = stompExpress(broker);
  const app = express();
  app.use(fakeAuth);
  app.use(stomp);
  mount(app, stomp);
  app.get('/health', (_req, res) => void res.json({ ok: true }));
  let server!: Server;
  await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
  stomp.attach(server);
  const r = { stomp, server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws` };
  running.push(r);
  return r;
}

const isAdmin = (req: Request): boolean => (req as AuthedRequest).user?.admin === true;

describe('stomp.inspector() on Express', () => {
  it('requires an authorize hook', async () => {
    const stomp = stompExpress(createBroker({ logger: false }));
    expect(() => stomp.inspector({} as never)).toThrow(/authorize/);
    await stomp.close();
  });

  it('answers 403 unless authorize(req) allows, after the app’s auth middleware ran', async () => {
    const { server } = await start((app, stomp) => app.use(stomp.inspector({ authorize: isAdmin })));
    await request(server).get('/stomp-inspector').expect(403);
    await request(server).get('/stomp-inspector/data.json').set('authorization', 'Bearer alice').expect(403);
    const page = await request(server).get('/stomp-inspector').set('authorization', 'Bearer root').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<canvas data-testid="chart"');
    await request(server).get('/health').expect(200, { ok: true });
  });

  it('serves the live sessions as JSON', async () => {
    const { server, url } = await start((app, stomp) => app.use(stomp.inspector({ path: '/ops/stomp', authorize: isAdmin })));
    const { client } = await stompjsConnect(url, { connectHeaders: { login: 'alice' } });
    clients.push(client);
    const res = await request(server).get('/ops/stomp/data.json').set('authorization', 'Bearer root').expect(200);
    const snap = res.body as InspectorSnapshot;
    expect(snap.sessions).toHaveLength(1);
    expect(snap.sessions[0]).toMatchObject({ user: 'alice', version: '1.2', state: 'connected' });
    expect(snap.stats.sessionsByVersion['1.2']).toBe(1);
    await request(server).get('/stomp-inspector/data.json').set('authorization', 'Bearer root').expect(404);
  });

  it('works mounted under a sub-path (app.use("/admin", ...)) with the full public path', async () => {
    const { server } = await start((app, stomp) => app.use('/admin', stomp.inspector({ path: '/admin/stomp', authorize: isAdmin })));
    await request(server).get('/admin/stomp/data.json').set('authorization', 'Bearer root').expect(200);
    await request(server).get('/admin/stomp/').expect(403);
  });

  it('async authorize hooks work; a throwing one is a 500', async () => {
    const { server } = await start((app, stomp) => {
      app.use(stomp.inspector({ path: '/a', authorize: async (req) => isAdmin(req) }));
      app.use(
        stomp.inspector({
          path: '/b',
          authorize: () => {
            throw new Error('down');
          },
        }),
      );
    });
    await request(server).get('/a').set('authorization', 'Bearer root').expect(200);
    await request(server).get('/a').expect(403);
    await request(server).get('/b').set('authorization', 'Bearer root').expect(500);
  });
});
