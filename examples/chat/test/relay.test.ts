/**
 * Two chat demos on two ports with the same RABBITMQ relay are one chat: a DM from a user on one
 * reaches a user on the other, presence lists both, and a room message reaches both. Skips loudly
 * without RabbitMQ unless CI=true (the relay suites' rules: packages/core/test/relay/support.ts).
 */
import type { RelayBroker } from '@stompkit/core';
import { start } from '../src/server';
import { acquireRelayLock, createVhost, deleteVhost, describeRelay, eventually, unique } from '../../../packages/core/test/relay/support';
import type { RunningChat } from '../src/chat';
import { Clients, listen, sendJson } from './support';

describeRelay('chat demo on the RabbitMQ relay', () => {
  let release: () => void;
  let vhost: string | undefined;
  let east: RunningChat;
  let west: RunningChat;
  const onEast = new Clients(() => east);
  const onWest = new Clients(() => west);

  beforeAll(async () => {
    release = await acquireRelayLock();
    vhost = createVhost();
    const relay = { url: `stomp://guest:guest@127.0.0.1:61613/${encodeURIComponent(vhost)}`, cluster: `chat-${unique()}`, registryInterval: 300 };
    east = await start(0, { env: {}, logger: false, broker: { relay } });
    west = await start(0, { env: {}, logger: false, broker: { relay } });
    await Promise.all([(east.broker.broker as RelayBroker).ready(), (west.broker.broker as RelayBroker).ready()]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([onEast.closeAll(), onWest.closeAll()]);
    await Promise.all([east?.close(), west?.close()]);
    deleteVhost(vhost);
    release?.();
  });

  it('delivers a DM across two demos, and rooms and presence span both', async () => {
    const alice = `alice-${unique()}`;
    const bob = `bob-${unique()}`;
    const aliceClient = await onEast.as(alice);
    const bobClient = await onWest.as(bob);
    const bobDms = await listen(bobClient, '/user/queue/dm');
    const bobRoom = await listen(bobClient, '/topic/chat/lobby');
    await eventually(() => east.broker.users.isOnline(bob) && west.broker.users.isOnline(alice), 3000, 'both demos to know both users');
    const presence = await listen(aliceClient, '/app/presence');
    expect((await presence.nextJson<{ users: string[] }>()).users).toEqual(expect.arrayContaining([alice, bob]));

    await sendJson(aliceClient, '/app/dm', { to: bob, text: 'hi from east' });
    const dm = await bobDms.nextJson();
    expect(dm).toMatchObject({ from: alice, to: bob, text: 'hi from east' });

    await sendJson(aliceClient, '/app/chat/lobby', { text: 'hello lobby' });
    expect(await bobRoom.nextJson()).toMatchObject({ from: alice, text: 'hello lobby' });
  });
});
