/**
 * RabbitMQ stopped and started again (rabbitmqctl stop_app / start_app) under two live nodes.
 * Its own file, holding the relay lock (support.ts) so no other relay suite runs meanwhile.
 */
import { RawClient, type RawFrame } from '../helpers/raw-client';
import { acquireRelayLock, createVhost, rabbitmqctl, deleteVhost, describeRelay, eventually, startRelayNode, unique, type RelayNode } from './support';

async function client(node: RelayNode): Promise<RawClient> {
  return RawClient.connect(node.url, { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0' });
}

function frames(c: RawClient, command: string): RawFrame[] {
  return c.frames.filter((f) => f.command === command);
}

describeRelay('RelayBroker across a RabbitMQ restart', () => {
  let release: () => void;
  let vhost: string | undefined;
  let a: RelayNode;
  let b: RelayNode;
  let stopped = false;

  beforeAll(async () => {
    release = await acquireRelayLock();
    vhost = createVhost();
    const cluster = `restart-${unique()}`;
    a = await startRelayNode(cluster, 'a', vhost);
    b = await startRelayNode(cluster, 'b', vhost);
  }, 180_000);

  afterAll(async () => {
    if (stopped) rabbitmqctl('start_app');
    await Promise.all([a?.close(), b?.close()]);
    deleteVhost(vhost);
    release?.();
  }, 60_000);

  it('reconnects, resubscribes every node’s topic subscribers and tells the sessions it cannot carry', async () => {
    const topic = `/topic/restart-${unique()}`;
    const queue = `/queue/restart-${unique()}`;
    const onA = await client(a);
    const onB = await client(b);
    const holder = await client(a);
    onA.send('SUBSCRIBE', { id: 't', destination: topic, receipt: 'ra' });
    onB.send('SUBSCRIBE', { id: 't', destination: topic, receipt: 'rb' });
    holder.send('SUBSCRIBE', { id: 'q', destination: queue, ack: 'client', receipt: 'rq' });
    await onA.expect('RECEIPT');
    await onB.expect('RECEIPT');
    await holder.expect('RECEIPT');
    holder.send('SEND', { destination: queue, receipt: 'sent' }, 'held, never acked');
    await holder.waitFor(() => frames(holder, 'MESSAGE').length === 1, 5000, 'the queue message');

    stopped = true;
    rabbitmqctl('stop_app');
    // The session holding an unacked queue delivery is told why it ends; its client reconnects.
    const error = await holder.waitFor(() => frames(holder, 'ERROR').length > 0, 10_000, 'ERROR').then(() => frames(holder, 'ERROR')[0]);
    expect(error.headers.message).toMatch(/message broker connection lost .*1 unacknowledged message on '\/queue\/restart-/);
    await eventually(() => a.broker.stats().relay!.connected === false, 10_000, 'node A to see RabbitMQ gone');

    // While RabbitMQ is down a SEND with a receipt gets an ERROR, never a RECEIPT.
    const publisher = await client(a);
    publisher.send('SEND', { destination: topic, receipt: 'while-down' }, 'lost');
    const refused = await publisher.expect('ERROR', 5000);
    expect(refused.headers['receipt-id']).toBe('while-down');
    expect(refused.headers.message).toMatch(/message broker unavailable/);
    expect(frames(publisher, 'RECEIPT')).toHaveLength(0);

    rabbitmqctl('start_app');
    stopped = false;
    await Promise.all([a.relay.ready(30_000), b.relay.ready(30_000)]);
    expect(a.broker.stats().relay!.reconnects).toBeGreaterThan(0);

    // The topic subscribers never reconnected, yet both receive again once the relay resubscribed.
    const again = await client(b);
    await eventually(() => {
      again.send('SEND', { destination: topic }, 'after restart');
      return frames(onA, 'MESSAGE').length > 0 && frames(onB, 'MESSAGE').length > 0;
    }, 10_000, 'topic subscribers on both nodes to receive after the restart');
    expect(frames(onA, 'MESSAGE')[0].body.toString()).toBe('after restart');
    expect(frames(onB, 'MESSAGE')[0].body.toString()).toBe('after restart');
    expect(onA.closed || onB.closed).toBe(false);
    for (const c of [onA, onB, holder, publisher, again]) c.close();
  }, 90_000);
});
