/** A strict consumer of @stompkit/express as installed from its tarball (type-checked only; see core.mts). */
import { createServer } from 'node:http';
import express, { type RequestHandler } from 'express';
import { createBroker } from '@stompkit/core';
import { stompExpress, type StompExpress, type StompExpressOptions } from '@stompkit/express';

const sessionMiddleware: RequestHandler = (_req, _res, next) => next();
const options: StompExpressOptions = {
  path: '/ws',
  middleware: [sessionMiddleware],
  principal: (req) => (typeof req.headers['x-user'] === 'string' ? { name: req.headers['x-user'] } : undefined),
};
const stomp: StompExpress = stompExpress(createBroker({ allowedOrigins: ['https://app.example'] }), options);

const app = express();
app.use(express.json());
app.use(stomp);
app.post('/api/news', async (req, res) => {
  await req.stomp.send('/topic/news', req.body);
  res.sendStatus(202);
});
app.use(stomp.inspector({ path: '/stomp-inspector', authorize: (req) => req.ip === '127.0.0.1' }));

const server = stomp.attach(createServer(app), app);
server.listen(0);
stomp.detach(server);
export const closed: Promise<void> = stomp.close({ timeout: 2000 });
export const path: string = stomp.path + stomp.broker.options.userPrefix;
