/**
 * Every configurable limit, end to end: exceeding one gets an ERROR whose message names the limit
 * and its value (and a `limit` header), then the connection closes.
 */
import { RawClient } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import type { Limits } from '../../src/options';

let server: TestServer;
afterEach(async () => server.close());

async function serve(limits: Limits): Promise<void> {
  server = await startServer({ heartbeat: [0, 0], limits });
}

describe('limits', () => {
  it('maxSubscriptionsPerSession', async () => {
    await serve({ maxSubscriptionsPerSession: 2 });
    const c = await RawClient.connect(server.url);
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a' });
    c.send('SUBSCRIBE', { id: '2', destination: '/topic/b' });
    c.send('SUBSCRIBE', { id: '3', destination: '/topic/c', receipt: 'r3' });
    const f = await c.expectError('limit maxSubscriptionsPerSession (2) exceeded');
    expect(f.headers.limit).toBe('maxSubscriptionsPerSession');
    expect(f.headers['receipt-id']).toBe('r3');
  });

  it('maxTransactionsPerSession', async () => {
    await serve({ maxTransactionsPerSession: 1 });
    const c = await RawClient.connect(server.url);
    c.send('BEGIN', { transaction: 'a' });
    c.send('BEGIN', { transaction: 'b' });
    await c.expectError('limit maxTransactionsPerSession (1) exceeded');
  });

  it('maxFramesPerTransaction', async () => {
    await serve({ maxFramesPerTransaction: 2 });
    const c = await RawClient.connect(server.url);
    c.send('BEGIN', { transaction: 't' });
    for (let i = 0; i < 3; i++) c.send('SEND', { destination: '/topic/a', transaction: 't' }, String(i));
    await c.expectError('limit maxFramesPerTransaction (2) exceeded');
  });

  it('maxFramesPerSecond (off by default)', async () => {
    await serve({ maxFramesPerSecond: 5 });
    const c = await RawClient.connect(server.url);
    c.raw('SEND\ndestination:/topic/a\n\nx\0'.repeat(10));
    await c.expectError('limit maxFramesPerSecond (5) exceeded');
  });

  it('maxSessions', async () => {
    await serve({ maxSessions: 1 });
    const first = await RawClient.connect(server.url);
    const second = await RawClient.open(server.url);
    await second.expectError('limit maxSessions (1) exceeded');
    first.send('SEND', { destination: '/topic/a', receipt: 'still-ok' }, 'x');
    await first.expect('RECEIPT');
    first.close();
  });

  it('connectTimeout', async () => {
    await serve({ connectTimeout: 50 });
    const c = await RawClient.open(server.url);
    await c.expectError('no CONNECT frame received within connectTimeout (50 ms)');
  });

  it('maxHeaders and maxHeaderBytes', async () => {
    await serve({ maxHeaders: 3, maxHeaderBytes: 256 });
    const c = await RawClient.connect(server.url);
    c.send('SEND', { destination: '/topic/a', a: '1', b: '2', c: '3' }, 'x');
    await c.expectError(/maxHeaders/);
    const d = await RawClient.connect(server.url);
    d.send('SEND', { destination: '/topic/a', big: 'v'.repeat(300) }, 'x');
    await d.expectError(/maxHeaderBytes/);
  });

  it('maxFrameBytes for a body without content-length', async () => {
    await serve({ maxFrameBytes: 1000 });
    const c = await RawClient.connect(server.url);
    c.send('SEND', { destination: '/topic/a' }, 'x'.repeat(2000));
    await c.expectError(/maxFrameBytes/);
  });

  it('refuses invalid limit values at startup', () => {
    expect(() => startServerSync({ maxSessions: -1 })).toThrow('limits.maxSessions must be a non-negative integer');
    server = { close: async () => {} } as unknown as TestServer;
  });
});

function startServerSync(limits: Limits): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createBroker } = require('../../src') as typeof import('../../src');
  createBroker({ limits });
}
