/** A strict consumer of @stompkit/fastify as installed from its tarball (type-checked only; see core.mts). */
import Fastify from 'fastify';
import { createBroker } from '@stompkit/core';
import defaultExport, { stompPlugin, type StompPluginOptions } from '@stompkit/fastify';

const app = Fastify();
const options: StompPluginOptions = {
  broker: createBroker(),
  path: '/ws',
  principal: (request) => (typeof request.headers['x-user'] === 'string' ? { name: request.headers['x-user'] } : undefined),
  shutdown: { timeout: 2000 },
  inspector: { authorize: (request) => request.ip === '127.0.0.1' },
};
await app.register(stompPlugin, options);
void defaultExport;
app.post('/api/news', async (request, reply) => {
  await app.stomp.send('/topic/news', request.body as object);
  return reply.code(202).send();
});
void app.stompBroker.stats();
await app.listen({ port: 0, host: '127.0.0.1' });
await app.close();
