// An Express app on @stompkit/express as installed from its tarball (run by test/packaging.test.ts
// with `node`, as ESM). Prints {"port":N} once listening; exits when stdin closes.
import { createServer } from 'node:http';
import express from 'express';
import { createBroker } from '@stompkit/core';
import { stompExpress } from '@stompkit/express';

const broker = createBroker({ heartbeat: [0, 0] });
broker.handle('/echo', (message) => ({ echoed: message.payload }));
const stomp = stompExpress(broker, { path: '/ws' });
const app = express();
app.use(express.json());
app.use(stomp);
app.post('/api/news', async (req, res) => {
  await req.stomp.send('/topic/news', req.body);
  res.sendStatus(202);
});
const server = stomp.attach(createServer(app));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.stdin.on('end', async () => {
  await stomp.close({ timeout: 1000 });
  server.close();
});
process.stdin.resume();
