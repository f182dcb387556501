/**
 * Interop: the broker driven by @stomp/stompjs 7 exactly as a browser app drives it (ws stands in
 * for the browser's WebSocket), and by the legacy stompjs 2.3.3 client many apps still ship.
 */
import { Client, type IMessage, type StompHeaders } from '@stomp/stompjs';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../helpers/server';
import { activated } from '../transport/ws-helpers';

let server: TestServer;
const clients: Client[] = [];

beforeEach(async () => {
  server = await startServer({ heartbeat: [10_000, 10_000] });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  await server.close();
});

function newClient(extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
  const client = new Client({
    webSocketFactory: () => new WebSocket(server.url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    ...extra,
  });
  clients.push(client);
  return client;
}

async function connected(extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Promise<{ client: Client; headers: StompHeaders }> {
  const client = newClient(extra);
  return { client, headers: await activated(client) };
}

/** Subscribes and resolves once the server confirmed (RECEIPT) that the subscription is live. */
async function subscribeLive(client: Client, destination: string, onMessage: (m: IMessage) => void, headers: StompHeaders = {}): Promise<void> {
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, onMessage, { ...headers, receipt });
  await confirmed;
}

function collector(): { messages: IMessage[]; wait(n: number): Promise<IMessage[]>; push(m: IMessage): void } {
  const messages: IMessage[] = [];
  let waiters: Array<() => void> = [];
  return {
    messages,
    push(m) {
      messages.push(m);
      const w = waiters;
      waiters = [];
      w.forEach((f) => f());
    },
    async wait(n) {
      const deadline = Date.now() + 5000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out: ${messages.length}/${n} messages`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 100);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return messages;
    },
  };
}

describe('@stomp/stompjs 7', () => {
  it('connects with STOMP 1.2 over the v12.stomp sub-protocol', async () => {
    const { headers } = await connected();
    expect(headers.version).toBe('1.2');
    expect(headers.server).toMatch(/^stompkit\//);
  });

  it('publishes and subscribes on a topic, including its own messages, in order', async () => {
    const { client: a } = await connected();
    const { client: b } = await connected();
    const got = collector();
    await subscribeLive(a, '/topic/chat', got.push);
    for (let i = 0; i < 20; i++) b.publish({ destination: '/topic/chat', body: `m${i}` });
    a.publish({ destination: '/topic/chat', body: 'mine', headers: { 'x-from': 'a' } });
    const messages = await got.wait(21);
    // Order is kept per publisher; the two publishers interleave freely.
    expect(messages.filter((m) => m.body !== 'mine').map((m) => m.body)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(messages.find((m) => m.body === 'mine')?.headers['x-from']).toBe('a');
  });

  it('round-trips binary bodies', async () => {
    const { client } = await connected();
    const got = collector();
    await subscribeLive(client, '/topic/bin', got.push);
    const bytes = new Uint8Array([0, 255, 1, 254, 0, 0, 7]);
    client.publish({ destination: '/topic/bin', binaryBody: bytes, headers: { 'content-type': 'application/octet-stream' } });
    const [m] = await got.wait(1);
    expect(Array.from(m.binaryBody)).toEqual(Array.from(bytes));
    expect(m.isBinaryBody).toBe(true);
  });

  it('acks and nacks on a client-individual queue subscription; a NACKed message comes back redelivered', async () => {
    const { client } = await connected();
    const got = collector();
    await subscribeLive(client, '/queue/jobs', got.push, { ack: 'client-individual' });
    client.publish({ destination: '/queue/jobs', body: 'job-1' });
    const [first] = await got.wait(1);
    first.nack();
    const [, again] = await got.wait(2);
    expect(again.body).toBe('job-1');
    expect(again.headers.redelivered).toBe('true');
    const receipt = new Promise<void>((resolve) => client.watchForReceipt('acked', () => resolve()));
    again.ack({ receipt: 'acked' });
    await receipt;
    expect(server.broker.stats().unacked).toBe(0);
  });

  it('commits a transaction atomically and aborts another', async () => {
    const { client } = await connected();
    const got = collector();
    await subscribeLive(client, '/topic/tx', got.push);
    const tx = client.begin();
    client.publish({ destination: '/topic/tx', body: 'one', headers: { transaction: tx.id } });
    client.publish({ destination: '/topic/tx', body: 'two', headers: { transaction: tx.id } });
    const aborted = client.begin();
    client.publish({ destination: '/topic/tx', body: 'never', headers: { transaction: aborted.id } });
    aborted.abort();
    tx.commit();
    client.publish({ destination: '/topic/tx', body: 'three' });
    const messages = await got.wait(3);
    expect(messages.map((m) => m.body)).toEqual(['one', 'two', 'three']);
  });

  it('gets receipts for SEND', async () => {
    const { client } = await connected();
    const receipt = new Promise<string>((resolve) => client.watchForReceipt('s1', (f) => resolve(f.headers['receipt-id'])));
    client.publish({ destination: '/topic/r', body: 'x', headers: { receipt: 's1' } });
    expect(await receipt).toBe('s1');
  });

  it('keeps a heart-beating connection alive and exchanges heart-beats both ways', async () => {
    await server.close();
    server = await startServer({ heartbeat: [100, 100] });
    const { client, headers } = await connected({ heartbeatIncoming: 100, heartbeatOutgoing: 100 });
    expect(headers['heart-beat']).toBe('100,100');
    let closed = false;
    client.onWebSocketClose = () => (closed = true);
    const got = collector();
    await subscribeLive(client, '/topic/alive', got.push);
    // Let several heart-beat periods pass with no application traffic, then prove the session lives.
    await new Promise((r) => setTimeout(r, 700));
    client.publish({ destination: '/topic/alive', body: 'still' });
    await got.wait(1);
    expect(closed).toBe(false);
  });

  it('sees an ERROR frame for a refused frame', async () => {
    const { client } = await connected();
    const error = new Promise<string>((resolve) => (client.onStompError = (f) => resolve(f.headers.message)));
    client.publish({ destination: '/topic/x', headers: { transaction: 'never-begun' }, body: 'x' });
    expect(await error).toContain("transaction 'never-begun'");
  });
});

describe('stompjs 2.3.3 (legacy)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Stomp = require('stompjs') as {
    over(ws: unknown): {
      debug: ((s: string) => void) | null;
      heartbeat: { incoming: number; outgoing: number };
      connect(headers: Record<string, string>, ok: (frame: { headers: Record<string, string> }) => void, err: (e: unknown) => void): void;
      subscribe(dest: string, cb: (m: { body: string; headers: Record<string, string>; ack(): void }) => void, headers?: Record<string, string>): { unsubscribe(): void };
      send(dest: string, headers: Record<string, string>, body: string): void;
      disconnect(cb?: () => void): void;
    };
  };

  function legacyClient() {
    const ws = new WebSocket(server.url, ['v11.stomp', 'v10.stomp']);
    const client = Stomp.over(ws);
    client.debug = null;
    client.heartbeat = { incoming: 0, outgoing: 0 };
    return client;
  }

  it('connects with STOMP 1.1, subscribes, sends and acks', async () => {
    const client = legacyClient();
    const frame = await new Promise<{ headers: Record<string, string> }>((resolve, reject) => client.connect({}, resolve, reject));
    expect(frame.headers.version).toBe('1.1');
    const received = new Promise<{ body: string; headers: Record<string, string>; ack(): void }>((resolve) =>
      client.subscribe('/queue/legacy', resolve, { ack: 'client' }),
    );
    client.send('/queue/legacy', { 'x-hello': 'world' }, 'from 2013');
    const m = await received;
    expect(m.body).toBe('from 2013');
    expect(m.headers['x-hello']).toBe('world');
    m.ack();
    const gone = new Promise<void>((resolve) => server.broker.once('disconnect', () => resolve()));
    client.disconnect();
    await gone;
    // Had the ACK been lost, the message would be back in the queue after the disconnect.
    expect(server.broker.stats().queueDepths['/queue/legacy']).toBeUndefined();
    expect(server.broker.stats().unacked).toBe(0);
  });
});
