/**
 * broker.stats() after known traffic, over a real server and real WebSocket clients: every counter
 * is checked against what the clients saw on the wire.
 */
import { RawClient, type RawFrame } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import { Metrics, OTHER_PREFIX } from '../../src/metrics/metrics';
import { StompError } from '../../src/errors';
import { resolveOptions as resolveOptionsForTest } from '../../src/options';

/** The exact bytes of a frame as it came over the wire (the raw client keeps headers unescaped and in order). */
function wireBytes(frame: RawFrame): number {
  const head = frame.command + '\n' + frame.headerList.map(([k, v]) => `${k}:${v}\n`).join('') + '\n';
  return Buffer.byteLength(head) + frame.body.length + 1;
}

function messages(client: RawClient): RawFrame[] {
  return client.frames.filter((f) => f.command === 'MESSAGE');
}

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('broker.stats()', () => {
  let server: TestServer;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  async function connect(headers: Record<string, string> = { 'accept-version': '1.2', host: 'localhost' }): Promise<RawClient> {
    const client = await RawClient.connect(server.url, headers);
    clients.push(client);
    return client;
  }

  it('counts messages and bytes in and out by destination prefix, once per recipient, as the clients saw them', async () => {
    server = await startServer({ heartbeat: [0, 0], authenticate: (info) => (info.login ? { name: info.login } : undefined) });
    server.broker.handle('/echo', () => undefined);
    const a = await connect({ 'accept-version': '1.2', host: 'h', login: 'alice' });
    const b = await connect({ 'accept-version': '1.1', host: 'h' });
    a.send('SUBSCRIBE', { id: 's1', destination: '/topic/news' });
    a.send('SUBSCRIBE', { id: 's2', destination: '/user/queue/dm', receipt: 'r1' });
    await a.expect('RECEIPT');
    b.send('SUBSCRIBE', { id: 's1', destination: '/topic/news' });
    b.send('SUBSCRIBE', { id: 's2', destination: '/queue/work', receipt: 'r2' });
    await b.expect('RECEIPT');
    const publisher = await connect();
    for (let i = 0; i < 3; i++) publisher.send('SEND', { destination: '/topic/news' }, 'hello');
    publisher.send('SEND', { destination: '/queue/work' }, 'xy');
    publisher.send('SEND', { destination: '/queue/work', 'content-length': '3' }, Buffer.from([0, 1, 2]));
    publisher.send('SEND', { destination: '/app/echo' }, '{}');
    publisher.send('SEND', { destination: '/user/alice/queue/dm', receipt: 'done' }, 'psst');
    await publisher.expect('RECEIPT');
    await a.waitFor(() => messages(a).length === 3 + 1, 3000, 'a: 3 topic messages and the DM');
    await b.waitFor(() => messages(b).length === 3 + 2, 3000, 'b: 3 topic and 2 queue messages');

    const stats = server.broker.stats();
    expect(stats.messagesIn).toEqual({ '/app': 1, '/user': 1, '/topic': 3, '/queue': 2, [OTHER_PREFIX]: 0 });
    expect(stats.bytesIn).toEqual({ '/app': 2, '/user': 4, '/topic': 15, '/queue': 5, [OTHER_PREFIX]: 0 });
    expect(stats.messagesOut).toEqual({ '/app': 0, '/user': 1, '/topic': 6, '/queue': 2, [OTHER_PREFIX]: 0 });
    const out = (prefix: string) =>
      [...messages(a), ...messages(b)].filter((f) => f.headers.destination.startsWith(prefix)).reduce((sum, f) => sum + wireBytes(f), 0);
    expect(stats.bytesOut).toEqual({ '/app': 0, '/user': out('/user'), '/topic': out('/topic'), '/queue': out('/queue'), [OTHER_PREFIX]: 0 });
    expect(stats.bytesOut['/topic']).toBeGreaterThan(6 * 5);
    // The message broker's own counters are still there.
    expect(stats.published).toBeGreaterThanOrEqual(6);
    expect(stats.subscriptions).toBeGreaterThanOrEqual(3);
  });

  it('counts connections and sessions by version with a 1.0, a 1.1 and a 1.2 client', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    const v10 = await connect({ host: 'h' }); // no accept-version: STOMP 1.0
    await connect({ 'accept-version': '1.1', host: 'h' });
    await connect({ 'accept-version': '1.0,1.1,1.2', host: 'h' });
    const pending = await RawClient.open(server.url); // upgraded, no CONNECT yet
    clients.push(pending);
    await until(() => server.broker.stats().connections === 4, 'four connections');
    let stats = server.broker.stats();
    expect(stats.sessions).toBe(4);
    expect(stats.sessionsByVersion).toEqual({ '1.0': 1, '1.1': 1, '1.2': 1 });
    expect(stats.connectionsOpened).toBe(4);
    expect(stats.sessionsConnected).toBe(3);

    v10.send('DISCONNECT', { receipt: 'bye' });
    await v10.expect('RECEIPT');
    await until(() => server.broker.stats().sessions === 3, 'the 1.0 session to end');
    stats = server.broker.stats();
    expect(stats.sessionsByVersion).toEqual({ '1.0': 0, '1.1': 1, '1.2': 1 });
    expect(stats.connections).toBe(3);
    expect(stats.disconnects).toEqual({ 'client-disconnect': 1 });
  });

  it('counts errors by code: a refused frame (ERROR and close) and a refusal that keeps the session open', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    server.broker.handle('/fails', () => {
      throw new StompError('STOMP_ERR_VALIDATION', 'no thanks', { fatal: false });
    });
    const polite = await connect();
    polite.send('SEND', { destination: '/app/fails' }, 'x');
    polite.send('SEND', { destination: '/app/fails' }, 'x');
    polite.send('SEND', { destination: '/topic/ok', receipt: 'still-open' }, 'x');
    await polite.expect('RECEIPT');

    const rude = await connect();
    rude.send('SUBSCRIBE', { id: 's' }); // no destination
    await rude.expectError("missing the required 'destination' header");
    const lost = await connect();
    lost.send('SEND', { destination: '/nowhere' }, 'x'); // refused, session kept open
    lost.send('SEND', { destination: '/topic/ok', receipt: 'lost-still-open' }, 'x');
    await lost.expect('RECEIPT');

    await until(() => server.broker.stats().disconnects['protocol-error'] === 1, 'one protocol error');
    const stats = server.broker.stats();
    expect(stats.errorsByCode).toEqual({ STOMP_ERR_VALIDATION: 2, STOMP_ERR_MISSING_HEADER: 1, STOMP_ERR_DESTINATION: 1 });
    expect(stats.messagesIn[OTHER_PREFIX]).toBe(1);
    expect(stats.limitsExceeded).toEqual({});
  });

  it('counts exceeded limits by name, as errors too', async () => {
    server = await startServer({
      heartbeat: [0, 0],
      maxPayload: 64 * 1024,
      limits: { maxSubscriptionsPerSession: 1, maxFrameBytes: 1024, connectTimeout: 150 },
    });
    const subs = await connect();
    subs.send('SUBSCRIBE', { id: 'a', destination: '/topic/a' });
    subs.send('SUBSCRIBE', { id: 'b', destination: '/topic/b' });
    const error = await subs.expectError('limit maxSubscriptionsPerSession (1) exceeded');
    expect(error.headers.limit).toBe('maxSubscriptionsPerSession');

    const big = await connect();
    big.send('SEND', { destination: '/topic/a' }, Buffer.alloc(2048, 'x'));
    await big.expectError('maxFrameBytes');

    const silent = await RawClient.open(server.url);
    clients.push(silent);
    const timeout = await silent.expectError('connectTimeout');
    expect(timeout.headers.limit).toBe('connectTimeout');

    // Bigger than maxPayload: ws refuses the WebSocket message itself (close 1009), no STOMP error.
    const huge = await connect();
    huge.raw(Buffer.alloc(100 * 1024, 'x'), true);
    expect(await huge.waitClosed()).toBe(1009);

    await until(() => server.broker.stats().sessions === 0, 'every session to end');
    const stats = server.broker.stats();
    expect(stats.limitsExceeded).toEqual({ maxSubscriptionsPerSession: 1, maxFrameBytes: 1, connectTimeout: 1, maxPayload: 1 });
    expect(stats.errorsByCode).toEqual({ STOMP_ERR_LIMIT: 2, STOMP_ERR_FRAME_TOO_LARGE: 1 });
    expect(stats.disconnects).toEqual({ 'protocol-error': 2, 'connect-timeout': 1, 'transport-closed': 1 });
  });

  it('counts heart-beat timeouts', async () => {
    server = await startServer({ heartbeat: [0, 50] });
    const quiet = await connect({ 'accept-version': '1.2', host: 'h', 'heart-beat': '50,0' });
    await quiet.expectError('heart-beat timeout');
    await until(() => server.broker.stats().heartbeatTimeouts === 1, 'the heart-beat timeout to be counted');
    const stats = server.broker.stats();
    expect(stats.errorsByCode).toEqual({ STOMP_ERR_HEARTBEAT_TIMEOUT: 1 });
    expect(stats.disconnects).toEqual({ 'heartbeat-timeout': 1 });
  });

  it('counts broker drops (queue overflow), redeliveries and dead letters', async () => {
    server = await startServer({ heartbeat: [0, 0], simpleBroker: { maxQueueDepth: 2, queueOverflow: 'drop-oldest', maxDeliveries: 2 } });
    const publisher = await connect();
    for (let i = 0; i < 5; i++) publisher.send('SEND', { destination: '/queue/full' }, String(i));
    publisher.send('SEND', { destination: '/queue/nack', receipt: 'sent' }, 'again');
    await publisher.expect('RECEIPT');
    const consumer = await connect();
    consumer.send('SUBSCRIBE', { id: 'n', destination: '/queue/nack', ack: 'client-individual' });
    const first = await consumer.expect('MESSAGE');
    consumer.send('NACK', { id: first.headers.ack });
    const second = await consumer.expect('MESSAGE');
    expect(second.headers.redelivered).toBe('true');
    consumer.send('NACK', { id: second.headers.ack, receipt: 'nacked' });
    await consumer.expect('RECEIPT');
    const stats = server.broker.stats();
    expect(stats.droppedBy).toEqual({ broker: 3, slowConsumer: 0 });
    expect(stats.dropped).toBe(3);
    expect(stats.redelivered).toBe(1);
    expect(stats.deadLettered).toBe(1);
    expect(stats.queueDepths['/queue/full']).toBe(2);
  });

  it("counts a slow consumer's dropped frames ('drop-oldest') and the bytes waiting for it", async () => {
    server = await startServer({
      heartbeat: [0, 0],
      slowConsumerPolicy: 'drop-oldest',
      limits: { maxOutboundBytes: 256 * 1024, outboundHighWaterMark: 64 * 1024, sendTimeLimit: 0 },
    });
    let droppedByEvents = 0;
    server.broker.on('slow-consumer', (_s, info) => {
      if (info.action === 'dropped') droppedByEvents += info.frames;
    });
    const slow = await connect();
    slow.send('SUBSCRIBE', { id: 'slow', destination: '/topic/firehose', receipt: 'ready' });
    await slow.expect('RECEIPT');
    const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    const publisher = await connect();
    const body = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 400; i++) publisher.send('SEND', { destination: '/topic/firehose', 'content-length': String(body.length) }, body);
    publisher.send('SEND', { destination: '/topic/firehose', receipt: 'all-sent' }, 'last');
    await publisher.expect('RECEIPT', 20_000);
    let stats = server.broker.stats();
    expect(droppedByEvents).toBeGreaterThan(0);
    expect(stats.droppedBy).toEqual({ broker: 0, slowConsumer: droppedByEvents });
    expect(stats.dropped).toBe(droppedByEvents);
    expect(stats.outboundBufferedBytes).toBeGreaterThan(64 * 1024);
    socket.resume();
    await slow.waitFor(() => messages(slow).some((f) => f.body.toString() === 'last'), 10_000, 'the newest message');
    await until(() => server.broker.stats().outboundBufferedBytes === 0, 'the backlog to drain');
    stats = server.broker.stats();
    expect(messages(slow).length + droppedByEvents).toBe(401);
    expect(stats.messagesOut['/topic']).toBe(401);
  }, 30_000);
});

describe('Metrics', () => {
  it('groups destinations by the configured prefixes, first match wins, the rest as other', () => {
    const metrics = new Metrics(resolveOptionsForTest({ appPrefixes: ['/app', '/rpc'], brokerPrefixes: ['/topic', '/queue', '/exchange'] }));
    expect(metrics.prefixes).toEqual(['/app', '/rpc', '/user', '/topic', '/queue', '/exchange', OTHER_PREFIX]);
    const group = (d: string) => metrics.prefixes[metrics.groupOf(d)];
    expect(group('/rpc/call')).toBe('/rpc');
    expect(group('/topic.a')).toBe('/topic');
    expect(group('/topics/a')).toBe(OTHER_PREFIX);
    expect(group('/exchange/amq/x')).toBe('/exchange');
    expect(group('')).toBe(OTHER_PREFIX);
  });

  it('resolves the prefix once per fan-out (same destination) and sums the encoded parts per delivery', () => {
    const metrics = new Metrics(resolveOptionsForTest({}));
    const spy = jest.spyOn(metrics, 'groupOf');
    const message = { destination: '/topic/a' };
    const parts = [Buffer.alloc(10), Buffer.alloc(20)];
    for (let i = 0; i < 100; i++) metrics.sent(message, parts);
    metrics.sent({ destination: '/queue/b' }, [Buffer.alloc(7)]);
    expect(spy).toHaveBeenCalledTimes(2);
    const stats = metrics.stats(emptyBrokerStats(), [], 0, 0);
    expect(stats.messagesOut['/topic']).toBe(100);
    expect(stats.bytesOut['/topic']).toBe(3000);
    expect(stats.bytesOut['/queue']).toBe(7);
  });

  it('names the limit of decoder errors and of limit errors without a header', () => {
    const metrics = new Metrics(resolveOptionsForTest({}));
    metrics.error(new StompError('STOMP_ERR_TOO_MANY_HEADERS'));
    metrics.error(new StompError('STOMP_ERR_HEADER_TOO_LARGE'));
    metrics.error(new StompError('STOMP_ERR_LIMIT', 'some limit'));
    metrics.error(new StompError('STOMP_ERR_SLOW_CONSUMER'), 'sendTimeLimit');
    const stats = metrics.stats(emptyBrokerStats(), [], 0, 0);
    expect(stats.limitsExceeded).toEqual({ maxHeaders: 1, maxHeaderBytes: 1, unknown: 1, sendTimeLimit: 1 });
  });
});

function emptyBrokerStats() {
  return { subscriptions: 0, destinations: 0, queueDepths: {}, unacked: 0, published: 0, delivered: 0, redelivered: 0, deadLettered: 0, dropped: 0 };
}
