/**
 * Destinations nobody serves, as a new user's typos produce them, driven by @stomp/stompjs 7 with
 * automatic reconnect on (as browser apps run it): by default the frame is refused and the session
 * stays up (the explanation on /user/queue/errors, a warn log); `strictDestinations` restores
 * ERROR and close. Malformed frames stay fatal either way.
 */
import { Client, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../helpers/server';
import { RawClient } from '../helpers/raw-client';
import { STOMP_PROTOCOLS } from '../transport/ws-helpers';
import { expectError } from '../app/support';
import type { Logger } from '../../src';

let server: TestServer;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  await server?.close();
});

interface LogEntry {
  level: string;
  fields: Record<string, unknown>;
  msg: string | undefined;
}

function capturingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => entries.push({ level, fields: obj as Record<string, unknown>, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

/** A stompjs client with reconnect on, connected, counting its connections, closes and ERROR frames. */
async function reconnectingClient(): Promise<{ client: Client; counts: { connects: number; closes: number; errors: string[] } }> {
  const counts = { connects: 0, closes: 0, errors: [] as string[] };
  const client = new Client({
    webSocketFactory: () => new WebSocket(server.url, STOMP_PROTOCOLS),
    reconnectDelay: 50,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  client.onWebSocketClose = () => counts.closes++;
  client.onStompError = (frame) => counts.errors.push(frame.headers.message);
  clients.push(client);
  await new Promise<void>((resolve) => {
    client.onConnect = () => {
      counts.connects++;
      resolve();
    };
    client.activate();
  });
  return { client, counts };
}

/** Messages of one subscription, awaited by count (with a deadline). */
function inbox(): { messages: IMessage[]; push(m: IMessage): void; wait(n: number): Promise<IMessage[]> } {
  const messages: IMessage[] = [];
  let wake: (() => void) | undefined;
  return {
    messages,
    push(m) {
      messages.push(m);
      wake?.();
    },
    async wait(n) {
      const deadline = Date.now() + 5000;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} messages, got ${messages.length}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return messages;
    },
  };
}

async function subscribeLive(client: Client, destination: string, onMessage: (m: IMessage) => void): Promise<void> {
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.subscribe(destination, onMessage, { receipt });
  await confirmed;
}

describe('a destination nobody serves, by default', () => {
  it('keeps the session of a typo\'d SUBSCRIBE and an unmapped /app SEND, explains both on /user/queue/errors, and stompjs never reconnects', async () => {
    const { logger, entries } = capturingLogger();
    server = await startServer({ heartbeat: [0, 0], logger });
    server.broker.handle('/hello', (m) => ({ content: `Hello, ${m.payload.name}!` }), { sendTo: '/topic/greetings' });
    server.broker.subscribeMapping('/rooms', () => ['lobby']);
    const { client, counts } = await reconnectingClient();

    const news = inbox();
    const errors = inbox();
    await subscribeLive(client, '/topic/news', (m) => news.push(m));
    await subscribeLive(client, '/user/queue/errors', (m) => errors.push(m));

    client.subscribe('/topci/news', () => undefined, { id: 'typo' });
    client.publish({ destination: '/app/helo', body: JSON.stringify({ name: 'Ada' }) });
    const [subscribeError, sendError] = await errors.wait(2);

    expect(subscribeError.headers.message).toBe(
      "cannot subscribe to '/topci/news': no destination prefix matches; destinations here start with /topic, /queue (broker); /app (application handlers); /user (user destinations)",
    );
    expect(subscribeError.headers['original-destination']).toBe('/topci/news');
    expect(subscribeError.headers['original-subscription']).toBe('typo');
    expect(subscribeError.headers.code).toBe('STOMP_ERR_DESTINATION');
    expect(sendError.headers.message).toBe("cannot send to '/app/helo': no handler is mapped to '/helo'; message mappings: /app/hello");
    expect(sendError.headers.code).toBe('STOMP_ERR_NO_HANDLER');

    // The same connection still works both ways: the other subscription keeps receiving.
    await server.broker.publish('/topic/news', { title: 'still here' });
    client.publish({ destination: '/topic/news', body: 'from the client' });
    const received = await news.wait(2);
    expect(received.map((m) => m.body)).toEqual(['{"title":"still here"}', 'from the client']);
    expect(counts).toEqual({ connects: 1, closes: 0, errors: [] });
    expect(server.broker.sessions.size).toBe(1);

    const warnings = entries.filter((e) => e.level === 'warn');
    expect(warnings.map((w) => [w.msg, w.fields.destination, w.fields.code])).toEqual([
      ['SUBSCRIBE refused; session kept open', '/topci/news', 'STOMP_ERR_DESTINATION'],
      ['SEND refused; session kept open', '/app/helo', 'STOMP_ERR_NO_HANDLER'],
    ]);
    expect(warnings[0].fields.sessionId).toBe([...server.broker.sessions.keys()][0]);
  });

  it('lists the subscribe mappings when a SUBSCRIBE to /app has none, and registers nothing', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    server.broker.subscribeMapping('/rooms', () => ['lobby']);
    server.broker.subscribeMapping('/rooms/{room}/history', () => []);
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', host: 'localhost' });
    try {
      c.send('SUBSCRIBE', { id: 'e', destination: '/user/queue/errors', receipt: 'e' });
      await c.expect('RECEIPT');
      c.send('SUBSCRIBE', { id: 'x', destination: '/app/room', receipt: 'never' });
      const m = await c.expect('MESSAGE');
      expect(m.body.toString()).toBe("cannot subscribe to '/app/room': no subscribe mapping for '/room'; subscribe mappings: /app/rooms, /app/rooms/{room}/history");
      expect(m.headers['receipt-id']).toBe('never');
      c.send('SUBSCRIBE', { id: 'x', destination: '/topic/x', receipt: 'reused' }); // the id is free: nothing was registered
      const next = await c.expect('RECEIPT');
      expect(next.headers['receipt-id']).toBe('reused');
      expect(c.frames.some((f) => f.command === 'RECEIPT' && f.headers['receipt-id'] === 'never')).toBe(false);
    } finally {
      c.close();
    }
  });

  it('still ends the session for a malformed frame', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', host: 'localhost' });
    c.raw('SEND\ndestination:/nowhere\nbad:\\t\n\nx\0');
    await c.expectError('escape');
  });
});

describe('strictDestinations', () => {
  it('sends ERROR and closes for a typo\'d SUBSCRIBE, as the STOMP specification has it', async () => {
    server = await startServer({ heartbeat: [0, 0], strictDestinations: true });
    const { client, counts } = await reconnectingClient();
    const closed = new Promise<void>((resolve) => (client.onWebSocketClose = () => resolve()));
    client.subscribe('/topci/news', () => undefined);
    await closed;
    await client.deactivate(); // stop the reconnect loop strict mode starts
    expect(counts.errors).toEqual([
      "cannot subscribe to '/topci/news': no destination prefix matches; destinations here start with /topic, /queue (broker); /app (application handlers); /user (user destinations)",
    ]);
  });

  it('sends ERROR and closes for an unmapped /app SEND', async () => {
    server = await startServer({ heartbeat: [0, 0], strictDestinations: true });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', host: 'localhost' });
    c.send('SEND', { destination: '/app/nothing', receipt: 'r' }, '{}');
    const f = await expectError(c, "cannot send to '/app/nothing': no handler is mapped to '/nothing'; there are no message mappings");
    expect(f.headers['receipt-id']).toBe('r');
  });
});
