/**
 * Test helpers for the handshake, shared by the core, Express and Fastify suites: a real `ws`
 * client whose refused upgrade is read as an HTTP response, and @stomp/stompjs 7 clients that
 * resolve on CONNECTED / on a confirmed subscription. Everything waits on events, never on time.
 */
import { once, type EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Client, type IMessage, type StompHeaders } from '@stomp/stompjs';
import WebSocket, { type ClientOptions } from 'ws';

export const STOMP_PROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

export interface UpgradeRefusal {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
}

/** Attempts an upgrade that must be refused; resolves with the HTTP response the server wrote. */
export function refusedUpgrade(url: string, options: ClientOptions = {}): Promise<UpgradeRefusal> {
  const ws = new WebSocket(url, STOMP_PROTOCOLS, options);
  return new Promise<UpgradeRefusal>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
  });
}

/** Opens a plain `ws` connection and resolves once it is open (rejects on a refused upgrade). */
export async function openWs(url: string, options: ClientOptions = {}, protocols: string[] = STOMP_PROTOCOLS): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
  return ws;
}

/** Opens a plain `ws` connection and resolves with it and the first message it gets (listened for from the start). */
export async function firstMessage(url: string, options: ClientOptions = {}, protocols: string[] = []): Promise<{ ws: WebSocket; message: string }> {
  const ws = new WebSocket(url, protocols, options);
  const message = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data: Buffer) => resolve(data.toString()));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
  return { ws, message };
}

export interface StompjsConnection {
  client: Client;
  headers: StompHeaders;
}

/** A @stomp/stompjs 7 client over `ws`, as a browser app would drive it; resolves on CONNECTED. */
export async function stompjsConnect(
  url: string,
  extra: Partial<ConstructorParameters<typeof Client>[0]> = {},
  wsOptions: ClientOptions = {},
): Promise<StompjsConnection> {
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, STOMP_PROTOCOLS, wsOptions),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    ...extra,
  });
  return { client, headers: await activated(client) };
}

/** Activates a @stomp/stompjs client; resolves with the CONNECTED headers, rejects on ERROR or a socket error. */
export function activated(client: Client): Promise<StompHeaders> {
  return new Promise<StompHeaders>((resolve, reject) => {
    client.onConnect = (frame) => resolve(frame.headers);
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
    client.onWebSocketError = () => reject(new Error('websocket error'));
    client.activate();
  });
}

/** Subscribes and resolves with the first message once the server confirmed (RECEIPT) the subscription. */
export async function subscribeOnce(client: Client, destination: string): Promise<{ message: Promise<IMessage> }> {
  const receipt = `sub-${Math.random().toString(36).slice(2)}`;
  const confirmed = new Promise<void>((resolve) => client.watchForReceipt(receipt, () => resolve()));
  let deliver!: (m: IMessage) => void;
  const message = new Promise<IMessage>((resolve) => (deliver = resolve));
  client.subscribe(destination, (m) => deliver(m), { receipt });
  await confirmed;
  return { message };
}

/** Resolves with the arguments of the next `event` on `emitter`. */
export function nextEvent<T extends unknown[]>(emitter: EventEmitter, event: string): Promise<T> {
  return once(emitter, event) as Promise<T>;
}
