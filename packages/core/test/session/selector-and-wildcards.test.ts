/**
 * Wildcard SUBSCRIBE destinations and the `selector` header over a real server and raw frames.
 * No sleeps: subscriptions are confirmed by RECEIPT, and "not delivered" is shown by a later
 * message that is delivered (each subscriber sees messages in publish order).
 */
import { RawClient, type RawFrame } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import type { BrokerOptions } from '../../src/options';

let server: TestServer;
const clients: RawClient[] = [];

async function restart(options: BrokerOptions = {}): Promise<void> {
  await server.close();
  server = await startServer({ heartbeat: [0, 0], ...options });
}

beforeEach(async () => {
  server = await startServer({ heartbeat: [0, 0] });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(server.url, { 'accept-version': '1.2', host: 'localhost' });
  clients.push(c);
  return c;
}

async function subscribe(c: RawClient, headers: Record<string, string>): Promise<void> {
  c.send('SUBSCRIBE', { ack: 'auto', ...headers, receipt: `sub-${headers.id}` });
  expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe(`sub-${headers.id}`);
}

/** SENDs with a receipt, so the publish has taken effect when this returns. */
async function publish(c: RawClient, destination: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  const receipt = `send-${body}`;
  c.send('SEND', { destination, ...headers, receipt }, body);
  const frame = await c.expect('RECEIPT');
  expect(frame.headers['receipt-id']).toBe(receipt);
}

/** Waits for MESSAGE frames until `times` of them carried `lastBody`; returns them all. */
async function messagesUntil(c: RawClient, lastBody: string, times = 1): Promise<RawFrame[]> {
  const frames: RawFrame[] = [];
  let seen = 0;
  for (;;) {
    const frame = await c.expect('MESSAGE');
    frames.push(frame);
    if (frame.body.toString() === lastBody && ++seen === times) return frames;
  }
}

/** STOMP 1.2 header unescaping (the raw client shows header values as sent on the wire). */
function unescape(value: string): string {
  return value.replace(/\\([\\cnr])/g, (_, c: string) => (c === 'c' ? ':' : c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** Expects ERROR whose (unescaped) message is exactly `message`, then the close. */
async function expectErrorMessage(c: RawClient, message: string): Promise<RawFrame> {
  const frame = await c.expect('ERROR');
  expect(unescape(frame.headers.message)).toBe(message);
  await c.waitClosed();
  expect(c.closeCode).toBe(1002);
  return frame;
}

function summary(frames: RawFrame[]): string[] {
  return frames.map((f) => `${f.headers.subscription} ${f.headers.destination} ${f.body.toString()}`);
}

describe('wildcard subscriptions', () => {
  it("delivers through '/topic/a/*' and '/topic/**' with the concrete destination in MESSAGE", async () => {
    const sub = await connect();
    const pub = await connect();
    await subscribe(sub, { id: 'one', destination: '/topic/a/*' });
    await subscribe(sub, { id: 'all', destination: '/topic/**' });
    await publish(pub, '/topic/a/b', '1');
    await publish(pub, '/topic/a/b/c', '2');
    await publish(pub, '/topic/x', '3');
    await publish(pub, '/queue/a/b', 'queued'); // a queue: no topic pattern sees it
    await publish(pub, '/topic/a/end', '4');
    expect(summary(await messagesUntil(sub, '4', 2))).toEqual([
      'one /topic/a/b 1',
      'all /topic/a/b 1',
      'all /topic/a/b/c 2',
      'all /topic/x 3',
      'one /topic/a/end 4',
      'all /topic/a/end 4',
    ]);
  });

  it('delivers once per matching subscription when one session subscribes exactly and by pattern', async () => {
    const sub = await connect();
    const pub = await connect();
    await subscribe(sub, { id: 'exact', destination: '/topic/news' });
    await subscribe(sub, { id: 'pattern', destination: '/topic/*' });
    await publish(pub, '/topic/news', 'n');
    await publish(pub, '/topic/other', 'o');
    const frames = await messagesUntil(sub, 'o');
    expect(summary(frames).sort()).toEqual(['exact /topic/news n', 'pattern /topic/news n', 'pattern /topic/other o']);
  });

  it('refuses a wildcard on a queue destination with ERROR and closes', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '0', destination: '/queue/jobs/*', receipt: 'r1' });
    const error = await expectErrorMessage(c, "wildcards are not supported on queue destinations: '/queue/jobs/*'");
    expect(error.headers['receipt-id']).toBe('r1');
  });

  it("uses '.' as the separator when configured", async () => {
    await restart({ destinationSeparator: '.' });
    const sub = await connect();
    const pub = await connect();
    await subscribe(sub, { id: 'nasdaq', destination: '/topic/stocks.*.nasdaq' });
    await publish(pub, '/topic/stocks.aapl.nyse', 'nyse');
    await publish(pub, '/topic/stocks.aapl.nasdaq', 'aapl');
    expect(summary(await messagesUntil(sub, 'aapl'))).toEqual(['nasdaq /topic/stocks.aapl.nasdaq aapl']);
  });

  it('stops delivering through a pattern after UNSUBSCRIBE', async () => {
    const sub = await connect();
    const pub = await connect();
    await subscribe(sub, { id: 'p', destination: '/topic/**' });
    await subscribe(sub, { id: 'x', destination: '/topic/x' });
    await subscribe(sub, { id: 'z', destination: '/topic/z' });
    await publish(pub, '/topic/x', '1');
    expect(summary(await messagesUntil(sub, '1', 2)).sort()).toEqual(['p /topic/x 1', 'x /topic/x 1']);
    sub.send('UNSUBSCRIBE', { id: 'p', receipt: 'u' });
    await sub.expect('RECEIPT');
    await publish(pub, '/topic/x', '2');
    await publish(pub, '/topic/z', 'end');
    expect(summary(await messagesUntil(sub, 'end'))).toEqual(['x /topic/x 2', 'z /topic/z end']);
  });
});

describe('the selector header', () => {
  it("delivers only messages matching type = 'x' AND priority > 5", async () => {
    const sub = await connect();
    const pub = await connect();
    await subscribe(sub, { id: 's', destination: '/topic/**', selector: "type = 'x' AND priority > 5" });
    await publish(pub, '/topic/a', 'low', { type: 'x', priority: '5' });
    await publish(pub, '/topic/a', 'other-type', { type: 'y', priority: '9' });
    await publish(pub, '/topic/a', 'no-priority', { type: 'x' });
    await publish(pub, '/topic/a', 'not-a-number', { type: 'x', priority: 'high' });
    await publish(pub, '/topic/b/c', 'high', { type: 'x', priority: '10' });
    const frames = await messagesUntil(sub, 'high');
    expect(summary(frames)).toEqual(['s /topic/b/c high']);
    expect(frames[0].headers.type).toBe('x');
    expect(frames[0].headers.priority).toBe('10');
  });

  it('filters queue consumers too: a message goes to the competing consumer whose selector accepts it', async () => {
    const red = await connect();
    const blue = await connect();
    const pub = await connect();
    await subscribe(red, { id: 'r', destination: '/queue/paint', selector: "color = 'red'" });
    await subscribe(blue, { id: 'b', destination: '/queue/paint', selector: "color IN ('blue', 'navy')" });
    await publish(pub, '/queue/paint', 'b1', { color: 'navy' });
    await publish(pub, '/queue/paint', 'r1', { color: 'red' });
    await publish(pub, '/queue/paint', 'b2', { color: 'blue' });
    expect(summary(await messagesUntil(red, 'r1'))).toEqual(['r /queue/paint r1']);
    expect(summary(await messagesUntil(blue, 'b2'))).toEqual(['b /queue/paint b1', 'b /queue/paint b2']);
  });

  it('treats a blank selector as no selector', async () => {
    const sub = await connect();
    const pub = await connect();
    await subscribe(sub, { id: 's', destination: '/topic/t', selector: '' });
    await publish(pub, '/topic/t', 'any');
    expect(summary(await messagesUntil(sub, 'any'))).toEqual(['s /topic/t any']);
  });

  it('answers a bad selector with an ERROR that explains it, then closes', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '0', destination: '/topic/t', selector: "type = 'x' AND priority >", receipt: 'r1' });
    const error = await expectErrorMessage(c, "invalid selector at position 26: expected a value after '>'");
    expect(error.headers['receipt-id']).toBe('r1');
    expect(error.body.toString()).toBe("invalid selector at position 26: expected a value after '>'\ntype = 'x' AND priority >\n                         ^");
  });

  it('does not run code: a JavaScript selector is a syntax error', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '0', destination: '/topic/t', selector: 'process.exit()' });
    await expectErrorMessage(c, "invalid selector at position 13: expected an operator (=, <>, <, >, <=, >=, IN, LIKE or IS) after 'process.exit' but found '('");
  });

  it('refuses a selector with ERROR when selectors are disabled, rather than delivering unfiltered', async () => {
    await restart({ selectors: false });
    const c = await connect();
    c.send('SUBSCRIBE', { id: '0', destination: '/topic/t', selector: "type = 'x'" });
    await expectErrorMessage(c, 'the selector header is not supported: selectors are disabled on this server');
  });
});
