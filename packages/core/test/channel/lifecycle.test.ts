/**
 * Session lifecycle events and the session control API: each event fires once, in order, after the
 * state it describes is in place; disconnectSession tells the client why before closing.
 */
import type { TestServer } from '../helpers/server';
import type { StompSession } from '../../src';
import { Clients, expectError, startAppServer, subscribeLive, untilReceipt } from '../app/support';

let server: TestServer;
const clients = new Clients(() => server);

afterEach(async () => {
  clients.closeAll();
  await server?.close();
});

function disconnected(): Promise<[StompSession, unknown]> {
  return new Promise((resolve) => server.broker.once('disconnect', (session, reason) => resolve([session, reason])));
}

describe('lifecycle events', () => {
  it('fire connect → connected → subscribe → unsubscribe → disconnect, each after its state is in place', async () => {
    server = await startAppServer();
    const broker = server.broker;
    const log: string[] = [];
    broker.on('connect', (s) => log.push(`connect user=${s.user?.name} state=${s.state} online=${broker.users.isOnline('ann')}`));
    broker.on('connected', (s) => log.push(`connected state=${s.state} online=${broker.users.isOnline('ann')}`));
    broker.on('subscribe', (s, sub) => log.push(`subscribe ${sub.id} ${sub.destination} ${sub.ack} live=${broker.stats().subscriptions} session=${s.subscriptions.has(sub.id)}`));
    broker.on('unsubscribe', (_s, sub) => log.push(`unsubscribe ${sub.id} ${sub.destination} live=${broker.stats().subscriptions}`));
    broker.on('disconnect', (s, reason) =>
      log.push(`disconnect ${JSON.stringify(reason)} live=${broker.stats().subscriptions} registered=${broker.sessions.has(s.sessionId)}`),
    );
    const c = await clients.connect('ann');
    await subscribeLive(c, '/topic/a', 's1');
    c.send('UNSUBSCRIBE', { id: 's1', receipt: 'u' });
    await untilReceipt(c, 'u');
    await subscribeLive(c, '/queue/b', 's2', { ack: 'client' });
    const gone = disconnected();
    c.send('DISCONNECT', { receipt: 'bye' });
    await gone;
    expect(log).toEqual([
      'connect user=ann state=connecting online=false',
      'connected state=connected online=true',
      'subscribe s1 /topic/a auto live=1 session=true',
      'unsubscribe s1 /topic/a live=0',
      'subscribe s2 /queue/b client live=1 session=true',
      'disconnect {"kind":"client-disconnect"} live=0 registered=false',
    ]);
  });

  it('fire disconnect exactly once with the reason, however the session ends', async () => {
    server = await startAppServer();
    const reasons: unknown[] = [];
    server.broker.on('disconnect', (_s, reason) => reasons.push(reason));
    const a = await clients.connect();
    let gone = disconnected();
    a.close();
    await gone;
    const b = await clients.connect();
    gone = disconnected();
    b.send('BOGUS', {});
    await gone;
    expect(reasons).toEqual([
      { kind: 'transport-closed', code: 1005 },
      { kind: 'protocol-error', error: expect.objectContaining({ code: 'STOMP_ERR_UNKNOWN_COMMAND' }) },
    ]);
  });

  it('fire subscribe for a subscribe mapping after its reply was delivered', async () => {
    server = await startAppServer();
    server.broker.subscribeMapping('/snapshot', () => 'state');
    const order: string[] = [];
    server.broker.on('subscribe', (_s, sub) => order.push(`subscribe ${sub.destination}`));
    const c = await clients.connect();
    c.send('SUBSCRIBE', { id: 'snap', destination: '/app/snapshot', receipt: 'r' });
    const [reply] = await untilReceipt(c, 'r');
    expect(reply.body.toString()).toBe('state');
    expect(order).toEqual(['subscribe /app/snapshot']);
  });

  it('keep a throwing listener away from the session', async () => {
    const errors: unknown[] = [];
    server = await startAppServer({ logger: { debug() {}, info() {}, warn() {}, error: (o: unknown) => errors.push(o) } });
    server.broker.on('subscribe', () => {
      throw new Error('listener bug');
    });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/a');
    expect(c.closed).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ event: 'subscribe' })]);
  });
});

describe('disconnectSession', () => {
  it('sends ERROR with the reason, closes, and reports it in the disconnect event', async () => {
    server = await startAppServer();
    const c = await clients.connect('eve');
    const id = server.broker.users.get('eve')!.sessionIds[0];
    const gone = disconnected();
    expect(server.broker.disconnectSession(id, 'token expired')).toBe(true);
    await expectError(c, 'token expired');
    const [session, reason] = await gone;
    expect(session.sessionId).toBe(id);
    expect(reason).toEqual({ kind: 'server-close', message: 'token expired' });
    expect(server.broker.users.isOnline('eve')).toBe(false);
    expect(server.broker.disconnectSession(id)).toBe(false);
    expect(server.broker.disconnectSession('no-such-session')).toBe(false);
  });
});
