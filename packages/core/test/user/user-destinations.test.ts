/**
 * User destinations end to end: '/user/queue/x' subscriptions resolve per session, '/user/{name}/…'
 * and template.sendToUser reach exactly that user's sessions, and nobody can listen in on another user.
 */
import { RawClient } from '../helpers/raw-client';
import type { TestServer } from '../helpers/server';
import { Clients, expectError, json, nextMessage, sendJson, startAppServer, subscribeLive } from '../app/support';

let server: TestServer;
const clients = new Clients(() => server);

afterEach(async () => {
  clients.closeAll();
  await server?.close();
});

function sessionOf(name: string): string {
  return [...server.broker.sessions.values()].find((s) => s.user?.name === name)!.sessionId;
}

describe('resolution', () => {
  it("resolves SUBSCRIBE '/user/queue/x' to the session's own '/queue/x-user<id>' and shows the original destination on MESSAGE", async () => {
    server = await startAppServer();
    const events: Array<[string, string]> = [];
    server.broker.on('subscribe', (session, sub) => events.push([session.sessionId, sub.destination]));
    const alice = await clients.connect('alice');
    await subscribeLive(alice, '/user/queue/inbox', 'in');
    const id = sessionOf('alice');
    expect(events).toEqual([[id, '/user/queue/inbox']]);
    // Server code may publish to the resolved destination directly; the client still sees '/user/queue/inbox'.
    await server.broker.template.send(`/queue/inbox-user${id}`, { n: 1 });
    const m = await nextMessage(alice);
    expect(m.headers.destination).toBe('/user/queue/inbox');
    expect(m.headers.subscription).toBe('in');
    expect(json(m)).toEqual({ n: 1 });
  });

  it("delivers a client SEND to '/user/{name}/queue/x' to every session of that user", async () => {
    server = await startAppServer();
    const bob1 = await clients.connect('bob');
    const bob2 = await clients.connect('bob');
    const carol = await clients.connect('carol');
    for (const c of [bob1, bob2, carol]) await subscribeLive(c, '/user/queue/dm');
    const alice = await clients.connect('alice');
    await sendJson(alice, '/user/bob/queue/dm', { text: 'hi bob' }, { 'x-from': 'alice' });
    for (const c of [bob1, bob2]) {
      const m = await nextMessage(c);
      expect(m.headers).toMatchObject({ destination: '/user/queue/dm', 'x-from': 'alice', 'content-type': 'application/json' });
      expect(json(m)).toEqual({ text: 'hi bob' });
    }
    await sendJson(alice, '/user/carol/queue/dm', 'marker');
    expect((await nextMessage(carol)).body.toString()).toBe('"marker"');
  });

  it("works with a '/topic' suffix as well", async () => {
    server = await startAppServer();
    const a1 = await clients.connect('alice');
    const a2 = await clients.connect('alice');
    await subscribeLive(a1, '/user/topic/news');
    await subscribeLive(a2, '/user/topic/news');
    await server.broker.template.sendToUser('alice', '/topic/news', 'extra');
    for (const c of [a1, a2]) {
      const m = await nextMessage(c);
      expect(m.headers.destination).toBe('/user/topic/news');
      expect(m.body.toString()).toBe('extra');
    }
  });

  it("accepts '/user/{own name}/queue/x' as the session's own destination", async () => {
    server = await startAppServer();
    const alice = await clients.connect('alice');
    await subscribeLive(alice, '/user/alice/queue/notes', 'n');
    await server.broker.template.sendToUser('alice', '/queue/notes', 'note');
    expect((await nextMessage(alice)).headers.destination).toBe('/user/alice/queue/notes');
  });

  it("addresses anonymous sessions by session id (Spring's fallback), and only anonymous ones", async () => {
    server = await startAppServer();
    const anon = await clients.connect();
    const named = await clients.connect('dora');
    await subscribeLive(anon, '/user/queue/x');
    await subscribeLive(named, '/user/queue/x');
    const anonId = [...server.broker.sessions.values()].find((s) => s.user === undefined)!.sessionId;
    await server.broker.template.sendToUser(anonId, '/queue/x', 'for anon');
    await server.broker.template.sendToUser(sessionOf('dora'), '/queue/x', 'not by id');
    await server.broker.template.sendToUser('dora', '/queue/x', 'for dora');
    expect((await nextMessage(anon)).body.toString()).toBe('for anon');
    expect((await nextMessage(named)).body.toString()).toBe('for dora');
  });

  it("encodes '/' in user names as %2F", async () => {
    server = await startAppServer();
    const c = await clients.connect('acme/eve');
    await subscribeLive(c, '/user/queue/dm');
    await server.broker.template.sendToUser('acme/eve', '/queue/dm', 'slash');
    expect((await nextMessage(c)).body.toString()).toBe('slash');
    await expect(server.broker.template.sendToUser('a%2Fb', '/queue/dm', 'x')).rejects.toThrow("contains '%2F'");
  });

  it('publishes only to sessions that subscribed: nothing is held for the others', async () => {
    server = await startAppServer();
    await clients.connect('alice');
    const before = server.broker.stats();
    await server.broker.template.sendToUser('alice', '/queue/unread', 'x');
    const after = server.broker.stats();
    expect(after.published).toBe(before.published);
    expect(after.queueDepths).toEqual({});
  });

  it('releases per-session queue destinations when the session ends, unacked client-ack messages included', async () => {
    server = await startAppServer();
    const alice = await clients.connect('alice');
    await subscribeLive(alice, '/user/queue/work', 'w', { ack: 'client' });
    await server.broker.template.sendToUser('alice', '/queue/work', 'job');
    await nextMessage(alice);
    const closed = new Promise((resolve) => server.broker.once('disconnect', resolve));
    alice.close();
    await closed;
    const stats = server.broker.stats();
    expect(stats.queueDepths).toEqual({});
    expect(stats.subscriptions).toBe(0);
    expect(stats.unacked).toBe(0);
  });
});

describe('isolation', () => {
  it("refuses SUBSCRIBE to another user's user destination with ERROR", async () => {
    server = await startAppServer();
    await clients.connect('bob');
    const mallory = await clients.connect('mallory');
    mallory.send('SUBSCRIBE', { id: 's', destination: '/user/bob/queue/dm', receipt: 'r' });
    const f = await expectError(mallory, "cannot subscribe to '/user/bob/queue/dm': it belongs to another user");
    expect(f.headers['receipt-id']).toBe('r');
  });

  it('refuses SUBSCRIBE and SEND to resolved per-session destinations', async () => {
    server = await startAppServer();
    const bob = await clients.connect('bob');
    await subscribeLive(bob, '/user/queue/dm');
    const bobDest = `/queue/dm-user${sessionOf('bob')}`;
    const spy = await clients.connect('mallory');
    spy.send('SUBSCRIBE', { id: 's', destination: bobDest });
    await expectError(spy, `cannot subscribe to '${bobDest}': per-session destinations are reached through '/user/…'`);
    const forger = await clients.connect('mallory');
    forger.send('SEND', { destination: bobDest }, 'fake');
    await expectError(forger, `cannot send to '${bobDest}'`);
  });

  it("keeps wildcard subscriptions from matching other sessions' '/topic/…-user<id>' destinations", async () => {
    server = await startAppServer();
    const alice = await clients.connect('alice');
    await subscribeLive(alice, '/user/topic/news');
    const snoop = await clients.connect('mallory');
    await subscribeLive(snoop, '/topic/**', 'all');
    await subscribeLive(snoop, '/topic/*', 'one');
    await server.broker.template.sendToUser('alice', '/topic/news', 'for alice only');
    await server.broker.template.send('/topic/news', 'public');
    expect((await nextMessage(alice)).body.toString()).toBe('for alice only');
    const seen = [await nextMessage(snoop), await nextMessage(snoop)];
    expect(seen.map((m) => m.body.toString())).toEqual(['public', 'public']);
    await subscribeLive(snoop, '/topic/sync');
    expect(snoop.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(2);
  });

  it("refuses a '/user' SEND whose suffix is not a broker destination", async () => {
    server = await startAppServer();
    const c = await clients.connect('alice');
    c.send('SEND', { destination: '/user/bob' }, 'x');
    await expectError(c, "cannot send to '/user/bob': messages to users go to '/user/<user>/queue/…'");
  });

  it('never lets a user receive another user’s /user messages across 100 concurrent users', async () => {
    server = await startAppServer();
    const N = 100;
    const names = Array.from({ length: N }, (_, i) => `user-${i}`);
    const users = await Promise.all(
      names.map(async (name) => {
        const c = await RawClient.connect(server.url, { 'accept-version': '1.2', host: 'localhost', login: name });
        await subscribeLive(c, '/user/queue/private', 'p');
        return { name, c };
      }),
    );
    try {
      expect(server.broker.users.count()).toBe(N);
      // Everybody sends a direct message to the next user, concurrently, and the server adds two per user.
      await Promise.all(
        users.map(({ c }, i) => sendJson(c, `/user/${names[(i + 1) % N]}/queue/private`, { to: names[(i + 1) % N], from: names[i] })),
      );
      await Promise.all(names.map((name) => server.broker.template.sendToUser(name, '/queue/private', { to: name, from: 'server' })));
      await Promise.all(names.map((name) => server.broker.template.sendToUser(name, '/queue/private', { to: name, from: 'server', last: true })));
      await Promise.all(
        users.map(async ({ name, c }) => {
          await c.waitFor(() => c.frames.some((f) => f.command === 'MESSAGE' && (json(f) as { last?: boolean }).last === true), 5000, `last message for ${name}`);
          const messages = c.frames.filter((f) => f.command === 'MESSAGE').map((f) => json(f) as { to: string; from: string });
          expect(messages).toHaveLength(3);
          for (const m of messages) expect(m.to).toBe(name);
          expect(messages.map((m) => m.from).sort()).toEqual([names[(names.indexOf(name) + N - 1) % N], 'server', 'server'].sort());
        }),
      );
    } finally {
      for (const { c } of users) c.close();
    }
  });
});
