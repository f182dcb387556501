/**
 * The chat demo's SockJS endpoint (/sockjs, beside /ws) on both flavours, driven by sockjs-client
 * 1.x in Node under @stomp/stompjs — as a frontend written for Spring's `withSockJS()` does — with
 * each SockJS transport forced in turn, chatting with a plain WebSocket client.
 */
import request from 'supertest';
import type { Client } from '@stomp/stompjs';
import { nextStompError, SOCKJS_TRANSPORTS, sockJsClient, sockJsConnected } from '../../../packages/core/test/helpers/sockjs-client';
import { Clients, flavours, listen, sendJson, type Running } from './support';

describe.each(flavours)('chat demo on %s over SockJS', (_name, start) => {
  let server: Running;
  const clients = new Clients(() => server);
  const sockjsClients: Client[] = [];

  beforeEach(async () => {
    server = await start(0, { env: {}, logger: false });
  });

  afterEach(async () => {
    await Promise.all(sockjsClients.splice(0).map((c) => c.deactivate()));
    await clients.closeAll();
    await server.close();
  });

  async function sockJsAs(login: string, transport: (typeof SOCKJS_TRANSPORTS)[number]): Promise<Client> {
    const client = sockJsClient(`${server.url}/sockjs`, transport, { connectHeaders: { login, passcode: 'ignored' } });
    sockjsClients.push(client);
    await sockJsConnected(client);
    return client;
  }

  it('serves the sockjs-client bundle locally and SockJS /info', async () => {
    const bundle = await request(server.url).get('/vendor/sockjs.min.js').expect(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    expect(bundle.text).toContain('SockJS');
    const page = await request(server.url).get('/').expect(200);
    expect(page.text).toContain('/vendor/sockjs.min.js');
    const info = await request(server.url).get('/sockjs/info').expect(200);
    expect(info.body).toMatchObject({ websocket: true });
    // The iframe page (old browsers' fallback) loads the local bundle, not a CDN.
    const iframe = await request(server.url).get('/sockjs/iframe.html').expect(200);
    expect(iframe.text).toContain('src="/vendor/sockjs.min.js"');
  });

  describe.each(SOCKJS_TRANSPORTS)('with the %s transport', (transport) => {
    it('chats both ways with a WebSocket user, with receipts, and gets a DM', async () => {
      const erin = await sockJsAs('erin', transport);
      const frank = await clients.as('frank');
      const erinRoom = await listen(erin, '/topic/chat/lobby');
      const frankRoom = await listen(frank, '/topic/chat/lobby');
      const erinDms = await listen(erin, '/user/queue/dm');

      await sendJson(erin, '/app/chat/lobby', { text: `hi from ${transport}` });
      expect(await frankRoom.nextJson()).toMatchObject({ from: 'erin', text: `hi from ${transport}` });
      expect(await erinRoom.nextJson()).toMatchObject({ from: 'erin' });

      await sendJson(frank, '/app/chat/lobby', { text: 'hi from WebSocket' });
      expect(await erinRoom.nextJson()).toMatchObject({ from: 'frank', text: 'hi from WebSocket' });

      await sendJson(frank, '/app/dm', { to: 'erin', text: 'just you' });
      expect(await erinDms.nextJson()).toMatchObject({ from: 'frank', to: 'erin', text: 'just you' });
      const [session] = [...server.broker.sessions.values()].filter((s) => s.user?.name === 'erin');
      expect(session.transport).toBe(`sockjs/${transport}`);
    });

    it('answers a bad frame with an ERROR that has a message header', async () => {
      const erin = await sockJsAs('erin', transport);
      const error = nextStompError(erin);
      erin.webSocket!.send('SUBSCRIBE\nid:1\n\n\0');
      expect((await error).headers.message).toMatch(/destination/);
    });
  });
});
