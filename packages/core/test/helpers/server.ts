import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBroker, type StompBroker } from '../../src';
import type { BrokerOptions } from '../../src/options';
import type { WebSocketOptions } from '../../src/transport/websocket';
import { testTransport } from './transport';

export interface TestServer {
  broker: StompBroker;
  http: Server;
  port: number;
  /** Where raw clients connect: ws://…/ws, or tcp://127.0.0.1:<port> when the suite runs over TCP (helpers/transport.ts). */
  url: string;
  close(): Promise<void>;
}

/**
 * A real http.Server on an ephemeral loopback port with a broker attached at /ws; when the suite
 * runs over TCP (helpers/transport.ts) the broker also listens for TCP on another ephemeral port,
 * and `url` points there.
 */
export async function startServer(options: BrokerOptions & WebSocketOptions = {}, path = '/ws'): Promise<TestServer> {
  const broker = createBroker({ logger: false, ...options });
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  broker.attach(http, { path });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const tcp = testTransport() === 'tcp' ? await broker.listen({ port: 0, host: '127.0.0.1' }) : undefined;
  return {
    broker,
    http,
    port,
    url: tcp !== undefined ? `tcp://127.0.0.1:${tcp.port}` : `ws://127.0.0.1:${port}${path}`,
    async close() {
      await broker.close({ timeout: 1000 });
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
