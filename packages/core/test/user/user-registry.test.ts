/**
 * The user registry: who is online with which sessions, kept current synchronously with the
 * session lifecycle, with 'online' / 'offline' events on the first and last session of a user.
 */
import type { TestServer } from '../helpers/server';
import { UserRegistry } from '../../src';
import { Clients, startAppServer } from '../app/support';

let server: TestServer;
const clients = new Clients(() => server);

afterEach(async () => {
  clients.closeAll();
  await server?.close();
});

function disconnected(): Promise<void> {
  return new Promise((resolve) => server.broker.once('disconnect', () => resolve()));
}

describe('UserRegistry through real sessions', () => {
  it('counts users and their sessions, and fires online/offline once per user', async () => {
    server = await startAppServer();
    const users = server.broker.users;
    const events: string[] = [];
    users.on('online', (name) => events.push(`online ${name}`));
    users.on('offline', (name) => events.push(`offline ${name}`));

    const a1 = await clients.connect('alice');
    const a2 = await clients.connect('alice');
    await clients.connect('bob');
    await clients.connect(); // anonymous: a session, not a user

    expect(users.count()).toBe(2);
    expect(users.isOnline('alice')).toBe(true);
    expect(users.get('alice')?.sessionIds).toHaveLength(2);
    expect(users.get('alice')?.sessionIds).toEqual(
      [...server.broker.sessions.values()].filter((s) => s.user?.name === 'alice').map((s) => s.sessionId),
    );
    expect(users.list().map((u) => u.name).sort()).toEqual(['alice', 'bob']);
    expect(users.get('nobody')).toBeUndefined();
    expect(server.broker.sessions.size).toBe(4);
    expect(events).toEqual(['online alice', 'online bob']);

    let gone = disconnected();
    a1.close();
    await gone;
    expect(users.get('alice')?.sessionIds).toHaveLength(1);
    expect(events).toEqual(['online alice', 'online bob']);

    gone = disconnected();
    a2.close();
    await gone;
    expect(users.isOnline('alice')).toBe(false);
    expect(users.count()).toBe(1);
    expect(events).toEqual(['online alice', 'online bob', 'offline alice']);
  });

  it("is already current when the broker's 'connected' and 'disconnect' events fire", async () => {
    server = await startAppServer();
    const seen: Array<[string, boolean]> = [];
    server.broker.on('connected', (s) => seen.push(['connected', server.broker.users.isOnline(s.user!.name)]));
    server.broker.on('disconnect', (s) => seen.push(['disconnect', server.broker.users.isOnline(s.user!.name)]));
    const c = await clients.connect('zed');
    const gone = disconnected();
    c.close();
    await gone;
    expect(seen).toEqual([
      ['connected', true],
      ['disconnect', false],
    ]);
  });

  it('keeps a throwing listener away from the session', async () => {
    const errors: unknown[] = [];
    server = await startAppServer({ logger: { debug() {}, info() {}, warn() {}, error: (o: unknown) => errors.push(o) } });
    server.broker.users.on('online', () => {
      throw new Error('listener bug');
    });
    const c = await clients.connect('alice');
    expect(c.closed).toBe(false);
    expect(errors).toHaveLength(1);
  });
});

describe('UserRegistry', () => {
  it('returns snapshots that do not change under the caller', () => {
    const registry = new UserRegistry();
    registry.add('a', 's1');
    const snapshot = registry.get('a')!;
    registry.add('a', 's2');
    expect(snapshot.sessionIds).toEqual(['s1']);
    expect(registry.get('a')!.sessionIds).toEqual(['s1', 's2']);
    registry.remove('a', 'unknown');
    registry.remove('a', 's1');
    registry.remove('a', 's1');
    expect(registry.get('a')!.sessionIds).toEqual(['s2']);
  });
});
