/**
 * SockJS through @stompkit/express (`stompExpress(broker, { sockjs: true })`), on Express 5 and 4:
 * sockjs-client in Node with each transport forced in turn, behind the app's own auth middleware.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import request from 'supertest';
import { createBroker, silentLogger } from '@stompkit/core';
import { stompExpress, type StompExpress } from '@stompkit/express';
import { SOCKJS_RECEIVE_PATHS, SOCKJS_TRANSPORTS, sockJsClient, sockJsConnected } from '../../core/test/helpers/sockjs-client';
import { listen } from '../../core/test/helpers/inbox';
import { closeAfterEach } from './support';

type App = NonNullable<Parameters<StompExpress['attach']>[1]> & { use(...handlers: unknown[]): void; get(path: string, handler: unknown): void };

const { running, clients } = closeAfterEach();

/**
 * The app's auth, as an app on Spring Security often has it: `/info` is public, everything else
 * needs `?token=good` (sockjs-client carries the URL's query to every request). Records what it refused.
 */
function tokenAuth(refused: string[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = new URL(req.url, 'http://x');
    const token = url.searchParams.get('token');
    if (url.pathname.endsWith('/info') || token === 'good' || token === 'bob') {
      (req as Request & { user?: unknown }).user = { name: token === 'bob' ? 'bob' : 'alice' };
      next();
      return;
    }
    refused.push(url.pathname);
    res.status(401).type('text/plain').send('token required');
  };
}

async function start(major: 'express' | 'express4', refused: string[] = []) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const express = require(major) as () => App;
  const broker = createBroker({ logger: silentLogger });
  const stomp = stompExpress(broker, { sockjs: true, middleware: [tokenAuth(refused)] });
  const app = express();
  app.use(stomp);
  app.get('/hello', (_req: Request, res: Response) => res.send('hi'));
  const server = createServer(app as never);
  stomp.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({ stomp, server });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { broker, server, stomp, base };
}

describe.each(['express', 'express4'] as const)('SockJS on %s', (major) => {
  describe.each(SOCKJS_TRANSPORTS)('over %s', (transport) => {
    it('connects with the principal the middleware established, and it sticks to the session', async () => {
      const { broker, base } = await start(major);
      const client = sockJsClient(`${base}/sockjs?token=good`, transport);
      clients.push(client);
      const connected = await sockJsConnected(client);
      expect(connected['user-name']).toBe('alice');
      const inbox = await listen(client, '/topic/express');
      client.publish({ destination: '/topic/express', body: 'via express' });
      expect((await inbox.next()).body).toBe('via express');
      const [session] = [...broker.sessions.values()];
      expect(session.user?.name).toBe('alice');
      expect(session.transport).toBe(`sockjs/${transport}`);
    });

    it('opens no session when the middleware refuses the transport request', async () => {
      const refused: string[] = [];
      const { broker, base } = await start(major, refused);
      const client = sockJsClient(`${base}/sockjs?token=bad`, transport);
      clients.push(client);
      await expect(sockJsConnected(client)).rejects.toThrow(/closed before CONNECTED/);
      expect(refused.some((p) => p.endsWith(SOCKJS_RECEIVE_PATHS[transport]))).toBe(true);
      expect(broker.stats().connectionsOpened).toBe(0);
    });
  });

  it('refuses a request of alice’s session made by another signed-in user', async () => {
    const { base } = await start(major);
    const session = `${base}/sockjs/000/${Math.random().toString(36).slice(2)}`;
    expect(await (await fetch(`${session}/xhr?token=good`, { method: 'POST' })).text()).toBe('o\n');
    const frames = JSON.stringify(['CONNECT\naccept-version:1.2\nhost:x\n\n\0']);
    const asBob = await fetch(`${session}/xhr_send?token=bob`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: frames });
    expect(asBob.status).toBe(403);
    expect(await asBob.text()).toMatch(/another user/);
    const asAlice = await fetch(`${session}/xhr_send?token=good`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: frames });
    expect(asAlice.status).toBe(204);
  });

  it('leaves other routes to the app', async () => {
    const { server } = await start(major);
    expect((await request(server).get('/hello')).text).toBe('hi');
  });

  it('answers /info without a session and refuses a foreign origin there', async () => {
    const { server } = await start(major);
    const info = await request(server).get('/sockjs/info');
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ websocket: true });
    expect((await request(server).get('/sockjs/info').set('Origin', 'https://evil.example')).status).toBe(403);
  });
});
