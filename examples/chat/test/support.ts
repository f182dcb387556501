/**
 * Drives the chat demo with @stomp/stompjs 7 in Node (ws stands in for the browser's WebSocket),
 * on both flavours. Every wait is on a frame, with a deadline; no sleeps decide an outcome.
 */
import { Client, type StompHeaders } from '@stomp/stompjs';
import WebSocket from 'ws';
import type { StompBroker } from '@stompkit/core';
import type { ChatOptions } from '../src/chat';
import { start as startExpress } from '../src/server';
import { start as startFastify } from '../src/fastify-server';

// The subscription inbox the core's own tests use.
export { listen, type Inbox } from '../../../packages/core/test/helpers/inbox';

export interface Running {
  url: string;
  port: number;
  broker: StompBroker;
  close(): Promise<void>;
}

export const flavours: Array<[name: string, start: (port: number, options?: ChatOptions) => Promise<Running>]> = [
  ['express', startExpress],
  ['fastify', startFastify],
];

export class Clients {
  private readonly open: Client[] = [];

  constructor(private readonly server: () => Running) {}

  /** A connected client; `login` goes in CONNECT, `query` on the WebSocket URL. */
  async connect(options: { login?: string; query?: string; connectHeaders?: StompHeaders } = {}): Promise<{ client: Client; headers: StompHeaders }> {
    const wsUrl = `${this.server().url.replace(/^http/, 'ws')}/ws${options.query ?? ''}`;
    const client = new Client({
      webSocketFactory: () => new WebSocket(wsUrl, ['v12.stomp', 'v11.stomp', 'v10.stomp']),
      connectHeaders: { ...(options.login !== undefined ? { login: options.login, passcode: 'ignored' } : {}), ...options.connectHeaders },
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
    });
    this.open.push(client);
    const headers = await new Promise<StompHeaders>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out connecting')), 5000);
      client.onConnect = (frame) => {
        clearTimeout(timer);
        resolve(frame.headers);
      };
      client.onStompError = (frame) => reject(new Error(frame.headers.message));
      client.onWebSocketError = () => reject(new Error('websocket error'));
      client.activate();
    });
    return { client, headers };
  }

  async as(login: string): Promise<Client> {
    return (await this.connect({ login })).client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((c) => c.deactivate()));
  }
}

/** SEND and wait for its RECEIPT: the handler has finished when this resolves. */
export async function sendJson(client: Client, destination: string, body: unknown): Promise<void> {
  const receipt = `s-${Math.random().toString(36).slice(2)}`;
  const done = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  client.publish({ destination, body: JSON.stringify(body), headers: { 'content-type': 'application/json', receipt } });
  await done;
}

/** SEND without a receipt (a refused frame gets no RECEIPT: its error goes to /user/queue/errors). */
export function publishJson(client: Client, destination: string, body: unknown): void {
  client.publish({ destination, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}
