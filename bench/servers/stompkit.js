'use strict';
/**
 * stompkit under test: createBroker() with its defaults, attached at /ws.
 * Env: STOMPKIT_DIST (another build of packages/core/dist, for before/after comparisons),
 * STOMPKIT_OPTIONS (JSON merged into the createBroker options),
 * BENCH_DEFLATE=1 (perMessageDeflate on; the load generator's client never negotiates it, so this
 * only shows the per-connection cost of offering it),
 * BENCH_TCP=1 (also serve STOMP over TCP with broker.listen on 127.0.0.1; the ready line then ends
 * with `tcp <port>`).
 */
const path = require('node:path');
const dist = process.env.STOMPKIT_DIST ? path.resolve(process.env.STOMPKIT_DIST) : path.join(__dirname, '../../packages/core/dist');
const { createBroker } = require(dist);
const { createStatsServer, listen } = require('./common');

const options = JSON.parse(process.env.STOMPKIT_OPTIONS || '{}');
if (process.env.BENCH_DEFLATE === '1') options.perMessageDeflate = true;
const broker = createBroker(options);
const server = createStatsServer();
broker.attach(server, { path: '/ws' });
if (process.env.BENCH_TCP === '1') {
  broker.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }).then((tcp) => listen(server, `stompkit tcp ${tcp.port}`));
} else {
  listen(server, 'stompkit');
}
