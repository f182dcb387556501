/**
 * stompit (the Node STOMP client backend services use) over TCP, and a @stomp/stompjs WebSocket
 * client as a browser app drives it, through one broker: messages both ways, client-individual
 * acks with a NACK and its redelivery, and a transaction committed and one aborted.
 */
import type { Client as StompjsClient, IMessage } from '@stomp/stompjs';
import type { StompBroker } from '../../src';
import type { TcpListener } from '../../src/transport/tcp';
import { startServer, type TestServer } from '../helpers/server';
import { stompjsConnect } from '../transport/ws-helpers';

/** The part of stompit's API these tests use (stompit ships no types). */
interface StompitMessage {
  headers: Record<string, string>;
  readString(encoding: string, callback: (err: Error | null, body?: string) => void): void;
}
interface StompitWritable {
  write(chunk: string): boolean;
  end(callback?: () => void): void;
}
interface StompitTransaction {
  send(headers: Record<string, string>): StompitWritable;
  commit(): void;
  abort(): void;
}
interface StompitClient {
  send(headers: Record<string, string>): StompitWritable;
  subscribe(headers: Record<string, string>, listener: (err: Error | null, message: StompitMessage) => void): unknown;
  ack(message: StompitMessage): void;
  nack(message: StompitMessage): void;
  begin(): StompitTransaction;
  disconnect(callback?: (err?: Error) => void): void;
  destroy(): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
const stompit = require('stompit') as {
  connect(
    options: { host: string; port: number; connectHeaders: Record<string, string> },
    callback: (err: Error | null, client: StompitClient) => void,
  ): void;
};

let server: TestServer;
let broker: StompBroker;
let listener: TcpListener;
const cleanups: Array<() => void> = [];

beforeEach(async () => {
  server = await startServer({
    heartbeat: [0, 0],
    authenticate: ({ login, passcode }) => (passcode === 'pw' && login !== undefined ? { name: login } : false),
  });
  broker = server.broker;
  listener = await broker.listen({ port: 0, host: '127.0.0.1' });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await server.close();
});

const suffix = (): string => Math.random().toString(36).slice(2, 8);

function connectStompit(login = 'billing'): Promise<StompitClient> {
  return new Promise((resolve, reject) => {
    stompit.connect(
      { host: '127.0.0.1', port: listener.port, connectHeaders: { host: '/', login, passcode: 'pw', 'heart-beat': '0,0' } },
      (err, client) => {
        if (err) return reject(err);
        client.on('error', () => {});
        cleanups.push(() => client.destroy());
        resolve(client);
      },
    );
  });
}

async function connectBrowser(): Promise<StompjsClient> {
  const { client } = await stompjsConnect(server.url, { connectHeaders: { login: 'web', passcode: 'pw' } });
  cleanups.push(() => void client.deactivate());
  return client;
}

function sendText(client: StompitClient | StompitTransaction, headers: Record<string, string>, body: string): void {
  const frame = client.send(headers);
  frame.write(body);
  frame.end();
}

/** Collects stompjs messages on `destination`, subscribed with a confirmed RECEIPT. */
async function collect(client: StompjsClient, destination: string): Promise<IMessage[]> {
  const seen: IMessage[] = [];
  const receipt = `r-${suffix()}`;
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, (m) => seen.push(m), { receipt });
  await confirmed;
  return seen;
}

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Subscribes a stompit client; resolves once the subscription is live in the broker. */
async function stompitSubscribe(
  client: StompitClient,
  headers: Record<string, string>,
  onMessage: (message: StompitMessage, body: string) => void,
): Promise<void> {
  const live = new Promise<void>((resolve) => {
    const check = (_session: unknown, sub: { destination: string }): void => {
      if (sub.destination !== headers.destination) return;
      broker.off('subscribe', check);
      resolve();
    };
    broker.on('subscribe', check);
  });
  client.subscribe(headers, (err, message) => {
    if (err) return;
    message.readString('utf-8', (readErr, body) => {
      if (!readErr) onMessage(message, body ?? '');
    });
  });
  await live;
}

it('stompit over TCP and a @stomp/stompjs WebSocket client exchange messages in both directions', async () => {
  const topic = `/topic/interop-${suffix()}`;
  const service = await connectStompit();
  const browser = await connectBrowser();
  const atBrowser = await collect(browser, topic);
  const atService: string[] = [];
  await stompitSubscribe(service, { destination: topic }, (_m, body) => atService.push(body));

  sendText(service, { destination: topic, 'content-type': 'text/plain' }, 'from the service');
  browser.publish({ destination: topic, body: 'from the browser' });
  await until(() => atBrowser.length === 2 && atService.length === 2, 'both messages on both sides');
  expect(atBrowser.map((m) => m.body).sort()).toEqual(['from the browser', 'from the service']);
  expect(atService.sort()).toEqual(['from the browser', 'from the service']);
  expect([...broker.sessions.values()].map((s) => [s.transport, s.user?.name]).sort()).toEqual([
    ['tcp', 'billing'],
    ['websocket', 'web'],
  ]);
});

it('client-individual acks over TCP: a NACKed message comes back redelivered, acked ones are gone', async () => {
  const queue = `/queue/jobs-${suffix()}`;
  const service = await connectStompit();
  const browser = await connectBrowser();
  const received: Array<{ body: string; redelivered: boolean }> = [];
  await stompitSubscribe(service, { destination: queue, ack: 'client-individual' }, (message, body) => {
    const redelivered = message.headers.redelivered === 'true';
    received.push({ body, redelivered });
    if (body === 'b' && !redelivered) service.nack(message);
    else service.ack(message);
  });
  for (const body of ['a', 'b', 'c']) browser.publish({ destination: queue, body });
  await until(() => received.length === 4, 'three deliveries and one redelivery');
  expect(received.filter((r) => !r.redelivered).map((r) => r.body)).toEqual(['a', 'b', 'c']);
  expect(received.filter((r) => r.redelivered)).toEqual([{ body: 'b', redelivered: true }]);
  await until(() => broker.stats().unacked === 0, 'every delivery acknowledged');
  expect(broker.stats().queueDepths[queue] ?? 0).toBe(0);
});

it('a stompit transaction reaches the WebSocket subscriber only on COMMIT, and an aborted one never', async () => {
  const topic = `/topic/ledger-${suffix()}`;
  const service = await connectStompit();
  const browser = await connectBrowser();
  const seen = await collect(browser, topic);
  const bodies = (): string[] => seen.map((m) => m.body);

  const committed = service.begin();
  sendText(committed, { destination: topic }, 'tx-1');
  sendText(committed, { destination: topic }, 'tx-2');
  // A message outside the transaction overtakes the transaction's, which wait for COMMIT.
  sendText(service, { destination: topic }, 'outside');
  await until(() => bodies().length === 1, 'the message outside the transaction');
  expect(bodies()).toEqual(['outside']);
  committed.commit();
  await until(() => bodies().length === 3, 'the committed messages');

  const aborted = service.begin();
  sendText(aborted, { destination: topic }, 'never');
  aborted.abort();
  sendText(service, { destination: topic }, 'after the abort');
  await until(() => bodies().length === 4, 'the message after the abort');
  expect(bodies()).toEqual(['outside', 'tx-1', 'tx-2', 'after the abort']);
});
