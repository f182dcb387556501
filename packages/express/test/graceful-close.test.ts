/**
 * `stomp.close({ grace })` on Express: a frame in progress finishes (its RECEIPT goes out) before
 * the shutdown ERROR; what the client sends meanwhile is never read.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createBroker } from '@stompkit/core';
import { stompExpress } from '@stompkit/express';
import { RawClient } from '../../core/test/helpers/raw-client';

it('lets a frame in progress finish (its RECEIPT) before the shutdown ERROR', async () => {
  const broker = createBroker({ heartbeat: [0, 0], logger: false });
  const stomp = stompExpress(broker);
  let release!: () => void;
  const started = new Promise<void>((resolve) => {
    broker.handle('/slow', async () => {
      resolve();
      await new Promise<void>((done) => (release = done));
    });
  });
  const app = express();
  app.use(stomp);
  let server!: Server;
  await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
  stomp.attach(server);
  try {
    const client = await RawClient.connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`);
    client.send('SEND', { destination: '/app/slow', receipt: 'slow-done' }, '{}');
    await started;
    const closed = stomp.close({ grace: 5000, timeout: 1000 });
    // Sent during the grace period: never read, so never answered.
    client.send('SEND', { destination: '/topic/late', receipt: 'late' }, 'x');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.frames.map((f) => f.command)).toEqual(['CONNECTED']);
    release();
    expect((await client.expect('RECEIPT')).headers['receipt-id']).toBe('slow-done');
    await client.expectError('server shutting down');
    await closed;
    expect(client.frames.map((f) => f.command)).toEqual(['CONNECTED', 'RECEIPT', 'ERROR']);
    expect(broker.stats().disconnects).toEqual({ 'server-close': 1 });
  } finally {
    await stomp.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
