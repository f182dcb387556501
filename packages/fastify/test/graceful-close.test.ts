/**
 * Graceful shutdown through the Fastify plugin: `fastify.close()` runs `broker.close(shutdown)`.
 * With `grace`, sessions read no new frame but finish the one in progress (its RECEIPT goes out),
 * then get ERROR 'server shutting down'; `grace` bounds the wait, and ends early when nothing is
 * in progress. Without it, the ERROR goes out at once.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { createBroker, type CloseOptions, type StompBroker } from '@stompkit/core';
import { stompPlugin } from '@stompkit/fastify';
import { RawClient } from '../../core/test/helpers/raw-client';
import { refusedUpgrade } from '../../core/test/transport/ws-helpers';

interface Running {
  app: FastifyInstance;
  broker: StompBroker;
  url: string;
  /** Resolves when the /app/slow handler started; `release()` lets it finish. */
  started: Promise<void>;
  release: () => void;
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(shutdown?: CloseOptions): Promise<Running> {
  const broker = createBroker({ heartbeat: [0, 0], logger: false });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  broker.handle('/slow', async () => {
    markStarted();
    await released;
  });
  const app = Fastify();
  apps.push(app);
  await app.register(stompPlugin, { broker, shutdown });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, broker, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/ws`, started, release };
}

/** A client whose SEND to /app/slow (receipt 'slow-done') is being handled. */
async function busyClient(r: Running): Promise<RawClient> {
  const client = await RawClient.connect(r.url);
  client.send('SEND', { destination: '/app/slow', receipt: 'slow-done' }, '{}');
  await r.started;
  return client;
}

const commands = (client: RawClient): string[] => client.frames.map((f) => f.command);

describe('fastify.close() with shutdown.grace', () => {
  it('lets the frame in progress finish and get its RECEIPT, reads nothing new, then sends the ERROR', async () => {
    const r = await start({ grace: 5000, timeout: 1000 });
    const busy = await busyClient(r);
    const idle = await RawClient.connect(r.url);
    const closed = r.app.close();
    apps.length = 0;
    busy.send('SEND', { destination: '/topic/late', receipt: 'late' }, 'x');
    idle.send('SUBSCRIBE', { id: 's', destination: '/topic/x', receipt: 'late-sub' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Nobody got anything yet: the busy session waits for its frame, the idle one reads nothing new.
    expect(commands(busy)).toEqual(['CONNECTED']);
    expect(commands(idle)).toEqual(['CONNECTED']);
    // A new connection is refused meanwhile.
    expect((await refusedUpgrade(r.url)).status).toBe(503);
    r.release();
    expect((await busy.expect('RECEIPT')).headers['receipt-id']).toBe('slow-done');
    await busy.expectError('server shutting down');
    await idle.expectError('server shutting down');
    await closed;
    expect(commands(busy)).toEqual(['CONNECTED', 'RECEIPT', 'ERROR']);
    expect(commands(idle)).toEqual(['CONNECTED', 'ERROR']);
  });

  it('bounds the wait by grace: a frame still in progress then gets no RECEIPT', async () => {
    const r = await start({ grace: 200, timeout: 1000 });
    const busy = await busyClient(r);
    const begun = Date.now();
    await r.app.close();
    apps.length = 0;
    expect(Date.now() - begun).toBeGreaterThanOrEqual(190);
    await busy.waitClosed();
    expect(commands(busy)).toEqual(['CONNECTED', 'ERROR']);
    r.release();
  });

  it('ends the grace at once when no frame is in progress', async () => {
    const r = await start({ grace: 10_000, timeout: 1000 });
    const idle = await RawClient.connect(r.url);
    const begun = Date.now();
    await r.app.close();
    apps.length = 0;
    expect(Date.now() - begun).toBeLessThan(2000);
    await idle.expectError('server shutting down');
  });

  it('without grace, sends the ERROR at once, in the middle of a frame', async () => {
    const r = await start();
    const busy = await busyClient(r);
    await r.app.close();
    apps.length = 0;
    await busy.waitClosed();
    expect(commands(busy)).toEqual(['CONNECTED', 'ERROR']);
    expect(busy.frames[1].headers.message).toBe('server shutting down');
    r.release();
  });
});
