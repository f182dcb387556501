/**
 * Application and user destinations driven by @stomp/stompjs 7 exactly as a browser chat app
 * would: a handler reply on /topic, a subscribe-mapping history, a private user queue, and the
 * error destination after a failing handler, all on one connection that stays up.
 */
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import type { TestServer } from '../helpers/server';
import { listen } from '../helpers/inbox';
import { startAppServer } from './support';

let server: TestServer;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.deactivate()));
  await server?.close();
});

async function connectAs(login: string): Promise<Client> {
  const client = new Client({
    webSocketFactory: () => new WebSocket(server.url, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
    connectHeaders: { login },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.onConnect = () => resolve();
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
    client.activate();
  });
  return client;
}

it('runs a chat through handlers, a subscribe mapping, user destinations and the error destination', async () => {
  server = await startAppServer();
  const history: Array<{ from: string; text: string }> = [];
  server.broker
    .handle('/chat/{room}', async (message, ctx) => {
      if (message.payload.text === '') throw new Error('empty message');
      const entry = { from: ctx.user!.name, text: message.payload.text as string };
      history.push(entry);
      return { room: ctx.params.room, ...entry };
    })
    .subscribeMapping('/chat/{room}/history', () => history)
    .handle('/dm/{to}', (message, ctx) => ctx.template.sendToUser(ctx.params.to, '/queue/dm', { from: ctx.user!.name, text: message.payload.text }).then(() => undefined));

  const alice = await connectAs('alice');
  const bob = await connectAs('bob');
  const bobRoom = await listen(bob, '/topic/chat/lobby');
  const bobDm = await listen(bob, '/user/queue/dm');
  const aliceErrors = await listen(alice, '/user/queue/errors');
  const json = { 'content-type': 'application/json' };

  alice.publish({ destination: '/app/chat/lobby', body: JSON.stringify({ text: 'hello' }), headers: json });
  const said = await bobRoom.next();
  expect(said.headers.destination).toBe('/topic/chat/lobby');
  expect(JSON.parse(said.body)).toEqual({ room: 'lobby', from: 'alice', text: 'hello' });

  const carol = await connectAs('carol');
  const historyReply = await listen(carol, '/app/chat/lobby/history');
  expect(JSON.parse((await historyReply.next()).body)).toEqual([{ from: 'alice', text: 'hello' }]);

  alice.publish({ destination: '/app/dm/bob', body: JSON.stringify({ text: 'psst' }), headers: json });
  const dm = await bobDm.next();
  expect(dm.headers.destination).toBe('/user/queue/dm');
  expect(JSON.parse(dm.body)).toEqual({ from: 'alice', text: 'psst' });

  alice.publish({ destination: '/app/chat/lobby', body: JSON.stringify({ text: '' }), headers: json });
  const error = await aliceErrors.next();
  expect(error.headers.message).toBe('empty message');
  expect(error.headers['original-destination']).toBe('/app/chat/lobby');

  // Still connected: the next message goes through.
  alice.publish({ destination: '/app/chat/lobby', body: JSON.stringify({ text: 'still here' }), headers: json });
  expect(JSON.parse((await bobRoom.next()).body).text).toBe('still here');
  expect(alice.connected).toBe(true);
});
