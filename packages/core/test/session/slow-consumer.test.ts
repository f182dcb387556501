/**
 * Slow consumers: a client that stops reading must cost the server bounded memory, never slow the
 * others down, and never lose /queue messages.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RawClient } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import type { SlowConsumerInfo } from '../../src/session/stomp-session';

/** A client whose socket stops reading: the server's writes back up behind it. */
async function stalledSubscriber(url: string, destination: string, ack = 'auto'): Promise<RawClient> {
  const client = await RawClient.connect(url);
  client.send('SUBSCRIBE', { id: 'slow', destination, ack, receipt: 'ready' });
  await client.expect('RECEIPT');
  (client.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
  return client;
}

function resumeReading(client: RawClient): void {
  (client.ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
}

const BODY = Buffer.alloc(64 * 1024, 'x');

describe('slow consumers (in process)', () => {
  let server: TestServer;
  afterEach(async () => server.close());

  it("closes a client that stops reading once its backlog passes maxOutboundBytes ('close' policy), others get everything", async () => {
    server = await startServer({ heartbeat: [0, 0], limits: { maxOutboundBytes: 256 * 1024, outboundHighWaterMark: 64 * 1024 } });
    const events: SlowConsumerInfo[] = [];
    server.broker.on('slow-consumer', (_s, info) => events.push(info));
    const slow = await stalledSubscriber(server.url, '/topic/firehose');
    const fast = await RawClient.connect(server.url);
    fast.send('SUBSCRIBE', { id: 'fast', destination: '/topic/firehose', receipt: 'r' });
    await fast.expect('RECEIPT');
    const publisher = await RawClient.connect(server.url);
    const total = 400; // 25 MiB: far more than the socket buffers hold
    const delivered = (): number => fast.frames.filter((f) => f.command === 'MESSAGE').length;
    for (let i = 0; i < total; i++) {
      // Publish at the fast subscriber's pace (8 in flight), so only the stalled one falls behind.
      if (i - delivered() >= 8) await fast.waitFor(() => i - delivered() < 8, 20_000, 'the fast subscriber');
      publisher.send('SEND', { destination: '/topic/firehose', 'content-length': String(BODY.length), seq: String(i) }, BODY);
    }
    await fast.waitFor(() => delivered() === total, 20_000, 'all messages at the fast subscriber');
    const seqs = fast.frames.filter((f) => f.command === 'MESSAGE').map((f) => Number(f.headers.seq));
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));
    await new Promise<void>((resolve) => (events.length > 0 ? resolve() : server.broker.once('slow-consumer', () => resolve())));
    expect(events[0]).toEqual({ action: 'closed', limit: 'maxOutboundBytes' });
    resumeReading(slow);
    await slow.waitClosed(5000);
    fast.close();
    publisher.close();
  });

  it("drops the oldest topic messages of a stalled client ('drop-oldest') and delivers the newest once it reads again", async () => {
    server = await startServer({
      heartbeat: [0, 0],
      slowConsumerPolicy: 'drop-oldest',
      limits: { maxOutboundBytes: 256 * 1024, outboundHighWaterMark: 64 * 1024, sendTimeLimit: 0 },
    });
    let dropped = 0;
    server.broker.on('slow-consumer', (_s, info) => {
      if (info.action === 'dropped') dropped += info.frames;
    });
    const slow = await stalledSubscriber(server.url, '/topic/news');
    const publisher = await RawClient.connect(server.url);
    const total = 400;
    for (let i = 0; i < total; i++) publisher.send('SEND', { destination: '/topic/news', 'content-length': String(BODY.length), seq: String(i) }, BODY);
    publisher.send('SEND', { destination: '/topic/news', receipt: 'all-sent' }, 'last');
    await publisher.expect('RECEIPT', 20_000);
    expect(dropped).toBeGreaterThan(0);
    resumeReading(slow);
    await slow.waitFor(() => slow.frames.some((f) => f.command === 'MESSAGE' && f.body.toString() === 'last'), 10_000, 'the newest message');
    const received = slow.frames.filter((f) => f.command === 'MESSAGE').length;
    expect(received + dropped).toBe(total + 1);
    expect(slow.closed).toBe(false);
    slow.ws.terminate(); // paused socket: a close handshake would wait out ws's 30 s close timer
    publisher.close();
  });

  it('never drops queue messages: while one consumer is stalled they go to the others or wait in the broker', async () => {
    server = await startServer({
      heartbeat: [0, 0],
      slowConsumerPolicy: 'drop-oldest',
      limits: { maxOutboundBytes: 256 * 1024, outboundHighWaterMark: 64 * 1024, sendTimeLimit: 0 },
    });
    const slow = await stalledSubscriber(server.url, '/queue/jobs');
    const publisher = await RawClient.connect(server.url);
    const total = 300;
    for (let i = 0; i < total; i++) publisher.send('SEND', { destination: '/queue/jobs', 'content-length': String(BODY.length), seq: String(i) }, BODY);
    publisher.send('SEND', { destination: '/topic/marker', receipt: 'sent' }, 'x');
    await publisher.expect('RECEIPT', 20_000);
    // The stalled consumer took what fits in its buffers; the rest waits in the broker.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if ((server.broker.stats().queueDepths['/queue/jobs'] ?? 0) > 0) resolve();
        else setImmediate(check);
      };
      check();
    });
    const fast = await RawClient.connect(server.url);
    fast.send('SUBSCRIBE', { id: 'fast', destination: '/queue/jobs' });
    resumeReading(slow);
    const count = (c: RawClient): number => c.frames.filter((f) => f.command === 'MESSAGE').length;
    await fast.waitFor(() => count(fast) + count(slow) === total, 20_000, 'every queue message, once');
    const seqs = [...slow.frames, ...fast.frames].filter((f) => f.command === 'MESSAGE').map((f) => Number(f.headers.seq));
    expect(new Set(seqs).size).toBe(total);
    expect(server.broker.stats().dropped).toBe(0);
    slow.ws.terminate(); // paused socket: a close handshake would wait out ws's 30 s close timer
    fast.close();
    publisher.close();
  });
});

describe('slow consumers (server in its own process)', () => {
  let child: ChildProcess;
  afterEach(() => {
    if (child.connected) child.send('stop');
  });

  function rss(): Promise<{ rss: number; peak: number }> {
    return new Promise((resolve) => {
      child.once('message', (m) => resolve(m as { rss: number; peak: number }));
      child.send('rss');
    });
  }

  it('keeps server RSS under 100 MB while 1 GB is published to a topic with a subscriber that never reads, and the other subscriber gets it all', async () => {
    child = fork(join(__dirname, '..', 'fixtures', 'rss-server.js'), [], {
      execArgv: (process.env.RSS_EXEC_ARGV ?? '').split(' ').filter(Boolean),
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: {
        ...process.env,
        STOMPKIT_OPTIONS: JSON.stringify({ heartbeat: [0, 0], slowConsumerPolicy: 'drop-oldest', limits: { sendTimeLimit: 0 } }),
      },
    });
    const port = await new Promise<number>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        const m = /ready (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
    });
    const url = `ws://127.0.0.1:${port}/ws`;
    const slow = await stalledSubscriber(url, '/topic/gigabyte');

    // The fast subscriber counts MESSAGE bytes without parsing, to keep this process light.
    const fast = new WebSocket(url);
    await new Promise((r) => fast.once('open', r));
    fast.send('CONNECT\naccept-version:1.2\n\n\0SUBSCRIBE\nid:f\ndestination:/topic/gigabyte\nreceipt:r\n\n\0');
    await new Promise<void>((resolve) => fast.on('message', function wait(data: Buffer) {
      if (data.includes('RECEIPT')) {
        fast.off('message', wait);
        resolve();
      }
    }));

    const size = Number(process.env.SLOW_CONSUMER_BODY ?? 64 * 1024);
    const body = Buffer.alloc(size, 'y');
    const head = Buffer.from(`SEND\ndestination:/topic/gigabyte\ncontent-length:${body.length}\n\n`);
    const frame = Buffer.concat([head, body, Buffer.from([0])]);
    const total = Math.ceil((1024 * 1024 * 1024) / size); // 1 GiB in all
    let received = 0;
    let wake: () => void = () => {};
    const allReceived = new Promise<void>((resolve) => fast.on('message', () => {
      received++;
      wake();
      if (received === total) resolve();
    }));
    const publisher = new WebSocket(url);
    await new Promise((r) => publisher.once('open', r));
    publisher.send('CONNECT\naccept-version:1.2\n\n\0');
    // The publisher runs at the fast subscriber's pace (a window of 8 messages in flight), so
    // every message must reach it; the stalled subscriber is the server's problem.
    const started = Date.now();
    for (let sent = 0; sent < total; sent++) {
      while (sent - received >= 8) await new Promise<void>((resolve) => (wake = resolve));
      publisher.send(frame, { binary: true });
    }
    await allReceived;
    const { peak } = await rss();
    process.stdout.write(`slow-consumer: ${total} × ${size / 1024} KiB in ${Date.now() - started} ms, server peak RSS ${(peak / 1048576).toFixed(1)} MB\n`);
    expect(received).toBe(total);
    expect(peak).toBeLessThan(100 * 1024 * 1024);
    slow.ws.terminate(); // paused socket: a close handshake would wait out ws's 30 s close timer
    fast.close();
    publisher.close();
  }, 120_000);
});
