// A Fastify app on @stompkit/fastify as installed from its tarball (run by test/packaging.test.ts
// with `node`, as ESM). Prints {"port":N} once listening; exits when stdin closes.
import Fastify from 'fastify';
import { createBroker } from '@stompkit/core';
import { stompPlugin } from '@stompkit/fastify';

const broker = createBroker({ heartbeat: [0, 0] });
broker.handle('/echo', (message) => ({ echoed: message.payload }));
const app = Fastify();
await app.register(stompPlugin, { broker, path: '/ws', shutdown: { timeout: 1000 } });
app.post('/api/news', async (request, reply) => {
  await app.stomp.send('/topic/news', request.body);
  return reply.code(202).send();
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.stdin.on('end', () => app.close());
process.stdin.resume();
