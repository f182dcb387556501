/**
 * collectPrometheusMetrics with the real prom-client: the exposition text after known traffic.
 */
import * as client from 'prom-client';
import { RawClient } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import { collectPrometheusMetrics } from '../../src/metrics/prometheus';

/** The value of one sample line (`name{labels} value`) in the exposition text. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('collectPrometheusMetrics', () => {
  let server: TestServer;
  const clients: RawClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  it('exposes the stats with their names and values, read at scrape time', async () => {
    server = await startServer({ heartbeat: [0, 0], limits: { maxSubscriptionsPerSession: 1 } });
    const register = new client.Registry();
    const collectors = collectPrometheusMetrics(server.broker, { client, register });

    const sub = await RawClient.connect(server.url, { 'accept-version': '1.1', host: 'h' });
    const pub = await RawClient.connect(server.url);
    clients.push(sub, pub);
    sub.send('SUBSCRIBE', { id: 's', destination: '/topic/t', receipt: 'r' });
    await sub.expect('RECEIPT');
    for (let i = 0; i < 4; i++) pub.send('SEND', { destination: '/topic/t' }, 'abc');
    pub.send('SEND', { destination: '/queue/q', receipt: 'done' }, 'hello');
    await pub.expect('RECEIPT');
    for (let i = 0; i < 4; i++) await sub.expect('MESSAGE');

    let text = await register.metrics();
    expect(sample(text, 'stompkit_connections')).toBe(2);
    expect(sample(text, 'stompkit_sessions')).toBe(2);
    expect(sample(text, 'stompkit_sessions_by_version', '{version="1.1"}')).toBe(1);
    expect(sample(text, 'stompkit_sessions_by_version', '{version="1.2"}')).toBe(1);
    expect(sample(text, 'stompkit_sessions_by_version', '{version="1.0"}')).toBe(0);
    expect(sample(text, 'stompkit_subscriptions')).toBe(1);
    expect(sample(text, 'stompkit_messages_in_total', '{prefix="/topic"}')).toBe(4);
    expect(sample(text, 'stompkit_bytes_in_total', '{prefix="/topic"}')).toBe(12);
    expect(sample(text, 'stompkit_messages_in_total', '{prefix="/queue"}')).toBe(1);
    expect(sample(text, 'stompkit_bytes_in_total', '{prefix="/queue"}')).toBe(5);
    expect(sample(text, 'stompkit_messages_out_total', '{prefix="/topic"}')).toBe(4);
    expect(sample(text, 'stompkit_bytes_out_total', '{prefix="/topic"}')).toBe(server.broker.stats().bytesOut['/topic']);
    expect(sample(text, 'stompkit_queued_messages')).toBe(1);
    expect(sample(text, 'stompkit_published_total')).toBe(5);
    expect(sample(text, 'stompkit_dropped_total', '{source="broker"}')).toBe(0);
    expect(sample(text, 'stompkit_dropped_total', '{source="slow-consumer"}')).toBe(0);
    expect(sample(text, 'stompkit_heartbeat_timeouts_total')).toBe(0);
    expect(text).toContain('# TYPE stompkit_messages_in_total counter');
    expect(text).toContain('# TYPE stompkit_outbound_buffered_bytes gauge');
    expect(text).toContain('# HELP stompkit_errors_total Errors reported to clients, by code');

    // A limit hit shows up at the next scrape, as an error and as a limit.
    sub.send('SUBSCRIBE', { id: 's2', destination: '/topic/u' });
    await sub.expectError('maxSubscriptionsPerSession');
    await pub.waitFor(() => server.broker.stats().sessions === 1, 3000, 'the session to end');
    text = await register.metrics();
    expect(sample(text, 'stompkit_errors_total', '{code="STOMP_ERR_LIMIT"}')).toBe(1);
    expect(sample(text, 'stompkit_limits_exceeded_total', '{limit="maxSubscriptionsPerSession"}')).toBe(1);
    expect(sample(text, 'stompkit_disconnects_total', '{reason="protocol-error"}')).toBe(1);
    expect(sample(text, 'stompkit_sessions_by_version', '{version="1.1"}')).toBe(0);
    expect(sample(text, 'stompkit_connections_opened_total')).toBe(2);
    expect(sample(text, 'stompkit_sessions_connected_total')).toBe(2);

    expect(collectors.names).toContain('stompkit_messages_out_total');
    collectors.unregister();
    expect(await register.metrics()).not.toContain('stompkit_');
  });

  it('takes one stats() snapshot per scrape', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    const register = new client.Registry();
    collectPrometheusMetrics(server.broker, { client, register });
    const spy = jest.spyOn(server.broker, 'stats');
    await register.metrics();
    expect(spy).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setImmediate(resolve));
    await register.metrics();
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it('uses a custom prefix, and loads prom-client itself when no client is given', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    const register = new client.Registry();
    const collectors = collectPrometheusMetrics(server.broker, { register, prefix: 'chat_' });
    const text = await register.metrics();
    expect(sample(text, 'chat_connections')).toBe(0);
    expect(text).not.toContain('stompkit_');
    collectors.unregister();
  });

  it('registers in prom-client’s default registry by default', async () => {
    server = await startServer({ heartbeat: [0, 0] });
    const collectors = collectPrometheusMetrics(server.broker, { client });
    try {
      expect(await client.register.metrics()).toContain('stompkit_sessions 0');
    } finally {
      collectors.unregister();
    }
  });

  it('says how to install prom-client when it is missing', () => {
    jest.isolateModules(() => {
      jest.doMock('prom-client', () => {
        throw new Error("Cannot find module 'prom-client'");
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { collectPrometheusMetrics: collect } = require('../../src/metrics/prometheus') as typeof import('../../src/metrics/prometheus');
      expect(() => collect({} as never)).toThrow(/needs prom-client: npm install prom-client/);
    });
    jest.dontMock('prom-client');
  });
});
