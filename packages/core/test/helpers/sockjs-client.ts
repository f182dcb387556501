/**
 * sockjs-client 1.x in Node, as a browser app on a Spring backend drives it: `new SockJS(url)` under
 * @stomp/stompjs's `webSocketFactory`, with one transport forced per test. In Node sockjs-client
 * brings its own drivers: `http` for the xhr transports, `faye-websocket` for websocket and the
 * `eventsource` package (a dependency of sockjs-client 1.6) for eventsource, so no global is needed.
 */
import { Client, type IMessage, type StompHeaders } from '@stomp/stompjs';
import SockJS from 'sockjs-client';

/** The four SockJS transports a browser falls back through, each forced in turn by the tests. */
export const SOCKJS_TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'] as const;
export type SockJsTransport = (typeof SOCKJS_TRANSPORTS)[number];

/** How the URL of each transport's receiving request (the one that opens a session) ends. */
export const SOCKJS_RECEIVE_PATHS: Record<SockJsTransport, string> = {
  websocket: '/websocket',
  'xhr-streaming': '/xhr_streaming',
  'xhr-polling': '/xhr',
  eventsource: '/eventsource',
};

export function sockJsClient(url: string, transport: SockJsTransport, extra: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
  return new Client({
    webSocketFactory: () => new SockJS(url, undefined, { transports: [transport] }),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    ...extra,
  });
}

/** Activates the client; resolves with CONNECTED's headers, rejects on ERROR, on a close before CONNECTED, or after 5 s. */
export function sockJsConnected(client: Client): Promise<StompHeaders> {
  return new Promise<StompHeaders>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out connecting over SockJS')), 5000);
    client.onConnect = (frame) => {
      clearTimeout(timer);
      resolve(frame.headers);
    };
    client.onStompError = (frame) => {
      clearTimeout(timer);
      reject(new Error(frame.headers.message));
    };
    client.onWebSocketClose = (event: { code?: number; reason?: string }) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`closed before CONNECTED: ${event.code} ${event.reason ?? ''}`), { code: event.code }));
    };
    client.activate();
  });
}

/** Resolves with the next ERROR frame the client gets. */
export function nextStompError(client: Client): Promise<IMessage> {
  return new Promise((resolve) => {
    client.onStompError = (frame) => resolve(frame as unknown as IMessage);
  });
}
