/**
 * The chat demo on Express (`npm start` at the repository root). The Fastify flavour is
 * fastify-server.ts; both share chat.ts and behave the same.
 *
 *   PORT=8080                 HTTP port (default 8080)
 *   STOMP_HEARTBEAT=cx,cy     the server's heart-beat offer in ms (default 10000,10000)
 *   RELAY_URL=stomp://guest:guest@127.0.0.1:61613   broker through RabbitMQ: demos sharing it are one chat
 *
 * Routes: the page (public/), the @stomp/stompjs bundle at /vendor/stomp.umd.min.js, the
 * sockjs-client bundle at /vendor/sockjs.min.js, GET /health, POST /api/announce {text} (broadcast
 * to /topic/chat/lobby through `req.stomp`), STOMP on /ws and over SockJS at /sockjs, the
 * inspector at /stomp-inspector (from this machine only: inspector.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import { isStompError, type StompBroker } from '@stompkit/core';
import { stompExpress } from '@stompkit/express';
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
  const stomp = stompExpress(broker, { path: '/ws', sockjs: SOCKJS_OPTIONS });
  const app = express();
  app.disable('x-powered-by');
  app.use(stomp); // req.stomp: the messaging template
  app.use(stomp.inspector({ path: INSPECTOR_PATH, authorize: fromLoopback }));

  app.get('/health', (_req, res) => {
    res.json(health(broker));
  });

  app.post('/api/announce', express.json({ limit: '16kb' }), async (req, res) => {
    let text: string;
    try {
      ({ text } = validateText(req.body));
    } catch (err) {
      res.status(400).json({ error: isStompError(err) ? err.message.replace(/^invalid payload: /, '') : 'invalid body' });
      return;
    }
    const message = announcement(text);
    await req.stomp.send('/topic/chat/lobby', message);
    res.status(202).json(message);
  });

  for (const asset of assets()) {
    app.get(asset.path, async (_req, res) => {
      const body = await readAsset(asset);
      res.set(SECURITY_HEADERS).type(asset.contentType).send(body);
    });
  }

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) broker.options.logger.error({ err }, 'request failed');
    res.status(status).json({ error: status === 500 ? 'internal error' : String(err.message ?? 'bad request') });
  };
  app.use(onError);

  const server = createServer(app);
  stomp.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await stomp.close({ timeout: 2000 });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })());

  return { url: `http://localhost:${actual}`, port: actual, broker, server, close };
}

if (require.main === module) runFromCommandLine('Express', start);
