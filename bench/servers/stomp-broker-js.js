'use strict';
/**
 * The Node peer, stomp-broker-js 1.3.0 (ws 5 nested), with its defaults (heart-beats off) and an
 * `error` listener attached, so one bad socket does not kill the process. Note: it never delivers a message to the
 * session that sent it, so publishers and subscribers are separate connections in every scenario.
 */
const StompServer = require('stomp-broker-js');
const { createStatsServer, listen } = require('./common');

const server = createStatsServer();
const stompServer = new StompServer({ server, path: '/ws', heartbeat: [0, 0], debug: () => {} });
stompServer.on('error', (err) => process.stderr.write(`[stomp-broker-js] socket error: ${err && err.message}\n`));
listen(server, 'stomp-broker-js');
