/**
 * The RabbitMQ relay end to end: two or three broker nodes in this process, each with its own
 * relay connections to the local RabbitMQ, and real WebSocket clients. Skips loudly without
 * RabbitMQ unless CI=true (see support.ts).
 */
import * as client from 'prom-client';
import { InspectorModel } from '../../src/inspector/model';
import { collectPrometheusMetrics } from '../../src/metrics/prometheus';
import { RawClient, type RawFrame } from '../helpers/raw-client';
import { acquireRelayLock, createVhost, rabbitmqctl, deleteVhost, describeRelay, eventually, startRelayNode, unique, type RelayNode } from './support';

async function connect(node: RelayNode, login?: string): Promise<RawClient> {
  const headers: Record<string, string> = { 'accept-version': '1.2', host: 'localhost', 'heart-beat': '0,0' };
  if (login !== undefined) headers.login = login;
  return RawClient.connect(node.url, headers);
}

let receipts = 0;
/** Sends `command` with a receipt and waits for that RECEIPT (fails on ERROR). */
async function withReceipt(c: RawClient, command: string, headers: Record<string, string>, body = ''): Promise<void> {
  const id = `r${++receipts}`;
  c.send(command, { ...headers, receipt: id }, body);
  await c.waitFor(() => c.frames.some((f) => (f.command === 'RECEIPT' && f.headers['receipt-id'] === id) || f.command === 'ERROR'), 5000, `RECEIPT ${id}`);
  const error = c.frames.find((f) => f.command === 'ERROR');
  if (error !== undefined) throw new Error(`ERROR ${error.headers.message}: ${error.body.toString()}`);
}

function messages(c: RawClient, destination?: string): RawFrame[] {
  return c.frames.filter((f) => f.command === 'MESSAGE' && (destination === undefined || f.headers.destination === destination));
}

async function waitMessages(c: RawClient, count: number, destination?: string): Promise<RawFrame[]> {
  await c.waitFor(() => messages(c, destination).length >= count, 5000, `${count} MESSAGE frames`);
  return messages(c, destination);
}

describeRelay('RelayBroker through RabbitMQ', () => {
  let release: () => void;
  let vhost: string | undefined;
  let cluster: string;
  let a: RelayNode;
  let b: RelayNode;
  const clients: RawClient[] = [];
  const open = async (node: RelayNode, login?: string): Promise<RawClient> => {
    const c = await connect(node, login);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    release = await acquireRelayLock();
    vhost = createVhost();
    cluster = `test-${unique()}`;
    a = await startRelayNode(cluster, 'a', vhost);
    b = await startRelayNode(cluster, 'b', vhost);
  }, 180_000);

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    deleteVhost(vhost);
    release?.();
  });

  it('fans a topic message out to subscribers on both nodes, wildcards and selectors included', async () => {
    const base = `/topic/fan-${unique()}`;
    const onA = await open(a);
    const onB = await open(b);
    const wildcardOnB = await open(b);
    const selectiveOnB = await open(b);
    await withReceipt(onA, 'SUBSCRIBE', { id: 's', destination: `${base}/news` });
    await withReceipt(onB, 'SUBSCRIBE', { id: 's', destination: `${base}/news` });
    await withReceipt(wildcardOnB, 'SUBSCRIBE', { id: 'w', destination: `${base}/*` });
    await withReceipt(selectiveOnB, 'SUBSCRIBE', { id: 'sel', destination: `${base}/news`, selector: "kind = 'urgent'" });
    const publisher = await open(a);
    await withReceipt(publisher, 'SEND', { destination: `${base}/news`, 'content-type': 'text/plain', kind: 'plain' }, 'first');
    await withReceipt(publisher, 'SEND', { destination: `${base}/news`, kind: 'urgent' }, 'second');
    for (const c of [onA, onB, wildcardOnB]) {
      const got = await waitMessages(c, 2);
      expect(got.map((m) => m.body.toString())).toEqual(['first', 'second']);
      expect(got[0].headers.destination).toBe(`${base}/news`);
      expect(got[0].headers['content-type']).toBe('text/plain');
      expect(got[0].headers.kind).toBe('plain');
    }
    const selected = await waitMessages(selectiveOnB, 1);
    expect(selected.map((m) => m.body.toString())).toEqual(['second']);
    // One RabbitMQ subscription per destination per node, however many local subscribers.
    expect(b.relay.stats().relay!.rabbitSubscriptions).toBe(2 + 2);
  });

  it('lets consumers on two nodes compete for one queue, each message delivered once', async () => {
    const queue = `/queue/jobs-${unique()}`;
    const onA = await open(a);
    const onB = await open(b);
    await withReceipt(onA, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client-individual', 'prefetch-count': '1' });
    await withReceipt(onB, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client-individual', 'prefetch-count': '1' });
    const publisher = await open(a);
    for (let i = 0; i < 10; i++) await withReceipt(publisher, 'SEND', { destination: queue }, `job ${i}`);
    const seen: string[] = [];
    const ackAll = (c: RawClient, acked: Set<string>): void => {
      for (const m of messages(c)) {
        if (acked.has(m.headers.ack)) continue;
        acked.add(m.headers.ack);
        seen.push(m.body.toString());
        c.send('ACK', { id: m.headers.ack });
      }
    };
    const ackedA = new Set<string>();
    const ackedB = new Set<string>();
    await eventually(() => {
      ackAll(onA, ackedA);
      ackAll(onB, ackedB);
      return seen.length >= 10;
    }, 8000, 'ten jobs');
    expect([...seen].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job ${i}`).sort());
    expect(ackedA.size).toBeGreaterThan(0);
    expect(ackedB.size).toBeGreaterThan(0);
    expect(messages(onA)[0].headers.destination).toBe(queue);
    // Headers RabbitMQ would read as a different queue declaration (a channel error that closes the
    // shared connection) are not relayed: the SEND goes through and the relay stays connected.
    await withReceipt(publisher, 'SEND', { destination: queue, 'auto-delete': 'true', 'x-max-length': '1', keep: 'me' }, 'declared differently');
    await eventually(() => [...messages(onA), ...messages(onB)].some((m) => m.body.toString() === 'declared differently'), 5000, 'the last job');
    const last = [...messages(onA), ...messages(onB)].find((m) => m.body.toString() === 'declared differently')!;
    expect(last.headers.keep).toBe('me');
    expect(last.headers['auto-delete']).toBeUndefined();
    expect(a.broker.stats().relay!.reconnects).toBe(0);
  });

  it('redelivers a NACKed message and the unacked messages of a consumer that leaves, marked redelivered', async () => {
    const queue = `/queue/retry-${unique()}`;
    const first = await open(a);
    await withReceipt(first, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client' });
    const publisher = await open(b);
    await withReceipt(publisher, 'SEND', { destination: queue }, 'one');
    const [one] = await waitMessages(first, 1);
    expect(one.headers.redelivered).toBeUndefined();
    await withReceipt(first, 'NACK', { id: one.headers.ack });
    const again = (await waitMessages(first, 2))[1];
    expect(again.body.toString()).toBe('one');
    expect(again.headers.redelivered).toBe('true');
    // The session ends without acking: RabbitMQ gets the message back and gives it to a consumer on B.
    first.close();
    const second = await open(b);
    await withReceipt(second, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client-individual' });
    const [redelivered] = await waitMessages(second, 1);
    expect(redelivered.body.toString()).toBe('one');
    expect(redelivered.headers.redelivered).toBe('true');
    await withReceipt(second, 'ACK', { id: redelivered.headers.ack });
    expect(a.relay.stats().relay!.connected).toBe(true);
  });

  it('applies a client-mode ACK to every earlier delivery of the subscription, as STOMP says', async () => {
    const queue = `/queue/cumulative-${unique()}`;
    const consumer = await open(a);
    await withReceipt(consumer, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client' });
    const sender = await open(b);
    for (const body of ['one', 'two', 'three']) await withReceipt(sender, 'SEND', { destination: queue }, body);
    const got = await waitMessages(consumer, 3);
    await withReceipt(consumer, 'ACK', { id: got[2].headers.ack });
    expect(a.broker.stats().unacked).toBe(0);
    // Nothing comes back once the consumer leaves: the next consumer's first message is a new one.
    consumer.close();
    const next = await open(b);
    await withReceipt(next, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client-individual' });
    await withReceipt(sender, 'SEND', { destination: queue }, 'four');
    expect((await waitMessages(next, 1)).map((m) => m.body.toString())).toEqual(['four']);
  });

  it('applies a transaction’s SENDs and ACKs only at COMMIT, and its RECEIPT follows RabbitMQ’s', async () => {
    const queue = `/queue/tx-${unique()}`;
    const topic = `/topic/tx-${unique()}`;
    const consumer = await open(b);
    await withReceipt(consumer, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client-individual' });
    await withReceipt(consumer, 'SUBSCRIBE', { id: 't', destination: topic });
    const sender = await open(a);
    await withReceipt(sender, 'SEND', { destination: queue }, 'to ack');
    const [toAck] = await waitMessages(consumer, 1, queue);
    await withReceipt(consumer, 'BEGIN', { transaction: 'tx1' });
    await withReceipt(consumer, 'ACK', { id: toAck.headers.ack, transaction: 'tx1' });
    await withReceipt(consumer, 'SEND', { destination: topic, transaction: 'tx1' }, 'in tx 1');
    await withReceipt(consumer, 'SEND', { destination: topic, transaction: 'tx1' }, 'in tx 2');
    // A marker sent outside the transaction arrives, and nothing of the transaction before it.
    await withReceipt(consumer, 'SEND', { destination: topic }, 'marker');
    expect((await waitMessages(consumer, 1, topic)).map((m) => m.body.toString())).toEqual(['marker']);
    await withReceipt(consumer, 'COMMIT', { transaction: 'tx1' });
    const got = await waitMessages(consumer, 3, topic);
    expect(got.map((m) => m.body.toString())).toEqual(['marker', 'in tx 1', 'in tx 2']);
    // The ACK took effect: a new consumer of the queue gets the next message, not the acked one back.
    consumer.close();
    const later = await open(a);
    await withReceipt(later, 'SUBSCRIBE', { id: 'q', destination: queue, ack: 'client-individual' });
    await withReceipt(sender, 'SEND', { destination: queue }, 'after commit');
    expect((await waitMessages(later, 1, queue)).map((m) => m.body.toString())).toEqual(['after commit']);
  });

  it('delivers /user messages to a user connected to another node, and lists users of every node', async () => {
    const alice = `alice-${unique()}`;
    const onB = await open(b, alice);
    await withReceipt(onB, 'SUBSCRIBE', { id: 'dm', destination: '/user/queue/dm' });
    await eventually(() => a.broker.users.isOnline(alice), 3000, 'node A to learn about alice');
    expect(a.broker.users.get(alice)).toEqual({ name: alice, sessionIds: [expect.any(String)], nodes: [b.nodeId] });
    expect(b.broker.users.get(alice)?.nodes).toEqual([b.nodeId]);
    await a.broker.template.sendToUser(alice, '/queue/dm', { text: 'from the template on A' });
    const sender = await open(a, `bob-${unique()}`);
    await withReceipt(sender, 'SEND', { destination: `/user/${alice}/queue/dm`, 'content-type': 'text/plain' }, 'from a client on A');
    // Two publishers (the template, a client session) on node A: no order between them.
    const got = await waitMessages(onB, 2);
    expect(got.map((m) => m.headers.destination)).toEqual(['/user/queue/dm', '/user/queue/dm']);
    expect(got.map((m) => m.body.toString()).sort()).toEqual(['from a client on A', JSON.stringify({ text: 'from the template on A' })]);
    onB.close();
    await eventually(() => !a.broker.users.isOnline(alice), 3000, 'alice to go offline on A');
  });

  it('drops a node that goes silent from every registry within its heart-beat window', async () => {
    const c = await startRelayNode(cluster, 'c', vhost);
    const carol = `carol-${unique()}`;
    const onC = await connect(c, carol);
    await eventually(() => a.broker.users.isOnline(carol) && b.broker.users.isOnline(carol), 3000, 'carol to be known on A and B');
    expect(a.broker.stats().relay!.nodes).toContain(c.nodeId);
    // Silent death: the relay's connections vanish without a 'bye'.
    const started = Date.now();
    await Promise.all(c.relay.connections.map((conn) => conn.close()));
    await eventually(() => !a.broker.users.isOnline(carol) && !b.broker.users.isOnline(carol), 3000, 'carol to be dropped');
    // Its window: 3 × registryInterval (300 ms) after its last snapshot, checked every interval; plus slack for a busy machine.
    expect(Date.now() - started).toBeLessThan(3 * 300 + 300 + 800);
    onC.close();
    await c.close();
  });

  it('removes the users of a node that closes from every registry at once', async () => {
    const d = await startRelayNode(cluster, 'd', vhost);
    const erin = `erin-${unique()}`;
    const onD = await connect(d, erin);
    await eventually(() => a.broker.users.isOnline(erin), 3000, 'A to learn about erin');
    const offline = new Promise<number>((resolve) => {
      const started = Date.now();
      const listener = (name: string): void => {
        if (name !== erin) return;
        a.broker.users.off('offline', listener);
        resolve(Date.now() - started);
      };
      a.broker.users.on('offline', listener);
    });
    onD.close();
    await d.close();
    // Well before the 3 × 300 ms a silent node would take: the leave (or the node's 'bye') arrived.
    expect(await offline).toBeLessThan(600);
    // Its 'bye' drops the node itself, without waiting for it to expire.
    await eventually(() => !a.broker.stats().relay!.nodes.includes(d.nodeId), 600, 'A to forget node d');
  });

  it('relays RabbitMQ-native /exchange and /amq/queue destinations when they are broker prefixes, never the relay’s own', async () => {
    const native = await startRelayNode(cluster, 'native', vhost, {
      brokerPrefixes: ['/topic', '/queue', '/exchange', '/amq/queue'],
      queuePrefixes: ['/queue', '/amq/queue'],
    });
    try {
      const key = `ex-${unique()}`;
      const viaExchange = await connect(native);
      await withReceipt(viaExchange, 'SUBSCRIBE', { id: 'x', destination: `/exchange/amq.topic/${key}.*` });
      const queueName = `amq-${unique()}`;
      const sender = await connect(a);
      // A SEND to /queue/<name> declares the queue in RabbitMQ; /amq/queue/<name> then reads it as it is.
      await withReceipt(sender, 'SEND', { destination: `/queue/${queueName}` }, 'queued');
      const viaAmqQueue = await connect(native);
      await withReceipt(viaAmqQueue, 'SUBSCRIBE', { id: 'q', destination: `/amq/queue/${queueName}`, ack: 'client-individual' });
      await withReceipt(sender, 'SEND', { destination: `/topic/${key}/news` }, 'routed by amq.topic');
      const [routed] = await waitMessages(viaExchange, 1);
      expect(routed.body.toString()).toBe('routed by amq.topic');
      const [queued] = await waitMessages(viaAmqQueue, 1);
      expect(queued.body.toString()).toBe('queued');
      // RabbitMQ names the destination the message was sent to.
      expect(queued.headers.destination).toBe(`/queue/${queueName}`);
      await withReceipt(viaAmqQueue, 'ACK', { id: queued.headers.ack });
      for (const c of [viaExchange, sender, viaAmqQueue]) c.close();
      // A queue RabbitMQ does not have: the session hears why, and the relay does not loop on it.
      const missing = await connect(native);
      missing.send('SUBSCRIBE', { id: 'm', destination: `/amq/queue/missing-${unique()}` });
      const notFound = await missing.expect('ERROR', 5000);
      expect(notFound.headers.message).toMatch(/RabbitMQ refused '\/amq\/queue\/missing-.*NOT_FOUND - no queue/);
      // RabbitMQ closed that relay connection (a channel error): it comes back once.
      await eventually(() => native.broker.stats().relay!.reconnects === 1, 10_000, 'the relay connection to come back');
      await native.relay.ready(10_000);
      const after = await connect(native);
      const topic = `/topic/after-${unique()}`;
      await withReceipt(after, 'SUBSCRIBE', { id: 't', destination: topic });
      await withReceipt(after, 'SEND', { destination: topic }, 'still relaying');
      expect((await waitMessages(after, 1)).map((m) => m.body.toString())).toEqual(['still relaying']);
      await new Promise((r) => setTimeout(r, 300));
      expect(native.broker.stats().relay!.reconnects).toBe(1);
      after.close();
      // The registry's routing keys are the relay's: a client cannot listen in or inject.
      const spy = await connect(native);
      spy.send('SUBSCRIBE', { id: 'spy', destination: `/exchange/amq.direct/${cluster}.registry`, receipt: 'spy' });
      const refused = await spy.expect('ERROR');
      expect(refused.headers.message).toContain("carries the relay's own traffic");
      spy.close();
    } finally {
      await native.close();
    }
  });

  it('keeps a fixed number of RabbitMQ connections per node however many clients subscribe', async () => {
    const rabbitConnections = (): number => {
      // STOMP connections as RabbitMQ lists them: "127.0.0.1:<client port> -> 127.0.0.1:61613".
      const out = rabbitmqctl('-q', 'list_stomp_connections', 'conn_name');
      const ports = new Set([...a.relay.connections, ...b.relay.connections].map((conn) => String(conn.localPort)));
      return out.split('\n').filter((line) => ports.has(/:(\d+) ->/.exec(line)?.[1] ?? '')).length;
    };
    expect(rabbitConnections()).toBe(4);
    const base = `/topic/many-${unique()}`;
    for (let i = 0; i < 30; i++) {
      const c = await open(i % 2 === 0 ? a : b);
      await withReceipt(c, 'SUBSCRIBE', { id: 's', destination: `${base}/${i % 5}` });
      await withReceipt(c, 'SUBSCRIBE', { id: 'q', destination: `/queue/many-${unique()}` });
    }
    expect(rabbitConnections()).toBe(4);
    expect(a.broker.stats().relay!.connections).toBe(2);
  });

  it('shows relay state and the node of each user in stats, the inspector snapshot and Prometheus', async () => {
    const dave = `dave-${unique()}`;
    const onB = await open(b, dave);
    const publisher = await open(a);
    await withReceipt(publisher, 'SEND', { destination: `/topic/metrics-${unique()}` }, 'counted');
    await eventually(() => a.broker.users.isOnline(dave), 3000, 'A to learn about dave');
    const relay = a.broker.stats().relay!;
    expect(relay).toMatchObject({ connected: true, connectionsUp: 2, connections: 2, node: a.nodeId });
    expect(relay.nodes).toContain(b.nodeId);
    expect(relay.relayedOut).toBeGreaterThan(0);
    expect(relay.relayedIn).toBeGreaterThan(0);
    expect(relay.roundTripMs).toBeGreaterThan(0);
    const snapshot = new InspectorModel(a.broker).snapshot();
    expect(snapshot.users).toContainEqual({ name: dave, sessions: 1, nodes: [b.nodeId] });
    expect(snapshot.stats.relay?.connected).toBe(true);
    const register = new client.Registry();
    collectPrometheusMetrics(a.broker, { client, register });
    const text = await register.metrics();
    expect(text).toMatch(/^stompkit_relay_connected 2$/m);
    expect(text).toMatch(/^stompkit_relay_frames_total\{direction="out"\} [1-9]/m);
    onB.close();
  });
});
