/**
 * The chat demo on Fastify (`npm run start:fastify` at the repository root): the same page,
 * routes and STOMP behaviour as the Express flavour (server.ts), both built on chat.ts.
 *
 *   PORT=8080                 HTTP port (default 8080)
 *   STOMP_HEARTBEAT=cx,cy     the server's heart-beat offer in ms (default 10000,10000)
 *   RELAY_URL=stomp://guest:guest@127.0.0.1:61613   broker through RabbitMQ: demos sharing it are one chat
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { isStompError, type StompBroker } from '@stompkit/core';
import { stompPlugin } from '@stompkit/fastify';
import {
  announcement,
  assets,
  createChatBroker,
  health,
  readAsset,
  runFromCommandLine,
  SECURITY_HEADERS,
  SOCKJS_OPTIONS,
  validateText,
  type ChatOptions,
  type RunningChat,
} from './chat';
import { fromLoopback, INSPECTOR_PATH } from './inspector';

export type { RunningChat };

export async function start(port = 0, options: ChatOptions = {}): Promise<RunningChat> {
  const broker = createChatBroker(options);
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  await app.register(stompPlugin, {
    broker,
    path: '/ws',
    sockjs: SOCKJS_OPTIONS,
    shutdown: { timeout: 2000 },
    inspector: { path: INSPECTOR_PATH, authorize: (request) => fromLoopback(request.raw) },
  });

  app.get('/health', async () => health(broker));

  app.post('/api/announce', async (request, reply) => {
    let text: string;
    try {
      ({ text } = validateText(request.body));
    } catch (err) {
      return reply.code(400).send({ error: isStompError(err) ? err.message.replace(/^invalid payload: /, '') : 'invalid body' });
    }
    const message = announcement(text);
    await app.stomp.send('/topic/chat/lobby', message);
    return reply.code(202).send(message);
  });

  for (const asset of assets()) {
    app.get(asset.path, async (_request, reply) => {
      const body = await readAsset(asset);
      return reply.headers(SECURITY_HEADERS).type(asset.contentType).send(body);
    });
  }

  // Every interface, as the Express flavour's server.listen(port) does ('::' is dual-stack; IPv4
  // alone where the machine has no IPv6).
  try {
    await app.listen({ port, host: '::' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' && (err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err;
    await app.listen({ port, host: '0.0.0.0' });
  }
  const actual = (app.server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= app.close());

  return { url: `http://localhost:${actual}`, port: actual, broker, server: app.server, close };
}

if (require.main === module) runFromCommandLine('Fastify', start);
