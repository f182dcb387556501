'use strict';
/**
 * One stompkit node on the RabbitMQ relay (createBroker({ relay })), attached at /ws. The runner
 * starts two of these with the same RELAY_CLUSTER: one broker over two processes.
 * Env: RELAY_URL (default stomp://guest:guest@127.0.0.1:61613), RELAY_CLUSTER (default 'bench').
 * Prints `ready <port>` once its relay connections to RabbitMQ are up.
 */
const path = require('node:path');
const dist = process.env.STOMPKIT_DIST ? path.resolve(process.env.STOMPKIT_DIST) : path.join(__dirname, '../../packages/core/dist');
const { createBroker } = require(dist);
const { createStatsServer, listen } = require('./common');

const broker = createBroker({
  relay: { url: process.env.RELAY_URL || 'stomp://guest:guest@127.0.0.1:61613', cluster: process.env.RELAY_CLUSTER || 'bench' },
});
const server = createStatsServer();
broker.attach(server, { path: '/ws' });
broker.broker.ready(30000).then(
  () => listen(server, 'relay'),
  (err) => {
    process.stderr.write(`relay not ready: ${err.message}\n`);
    process.exit(1);
  },
);
