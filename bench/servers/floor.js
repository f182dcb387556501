'use strict';
/**
 * The floor: the least a STOMP-over-WebSocket fan-out server can do on `ws` 8. No validation, no
 * escaping, no acks, no limits: it reads just enough of each frame to know a SUBSCRIBE's
 * destination and id and a SEND's destination and body, builds the MESSAGE once per publish, and
 * makes one `ws.send` per delivery (the per-recipient `subscription` line glued on). `/queue/...`
 * destinations are dealt round-robin to their subscribers; ACK frames are ignored.
 * perMessageDeflate is off (the ws 8 default for servers); BENCH_DEFLATE=1 turns it on.
 */
const { WebSocketServer } = require('ws');
const { createStatsServer, listen } = require('./common');

const server = createStatsServer();
const wss = new WebSocketServer({
  server,
  path: '/ws',
  clientTracking: false,
  perMessageDeflate: process.env.BENCH_DEFLATE === '1',
  handleProtocols: (protocols) => protocols.values().next().value || false,
});

const topics = new Map(); // destination -> Set<Sub>
const queues = new Map(); // destination -> { subs: Sub[], next: number }
const CONNECTED = 'CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:floor\n\n\0';
const NUL = Buffer.from([0]);
const DESTINATION = Buffer.from('\ndestination:');
const ID = Buffer.from('\nid:');
let messageId = 0;

function header(data, name, limit) {
  const at = data.indexOf(name);
  if (at === -1 || at > limit) return undefined;
  const start = at + name.length;
  return data.toString('utf8', start, data.indexOf(10, start));
}

wss.on('connection', (ws) => {
  const client = { ws, subs: [] };
  ws.on('message', (data) => onMessage(client, data));
  ws.on('close', () => onClose(client));
  ws.on('error', () => {});
});

function onMessage(client, data) {
  const headEnd = data.indexOf('\n\n');
  const command = data.toString('latin1', 0, data.indexOf(10));
  if (command === 'SEND') {
    const destination = header(data, DESTINATION, headEnd);
    let end = data.lastIndexOf(0);
    if (end === -1) end = data.length;
    const body = data.subarray(headEnd + 2, end);
    const shared = Buffer.concat([
      Buffer.from(`destination:${destination}\nmessage-id:${++messageId}\ncontent-length:${body.length}\n\n`),
      body,
      NUL,
    ]);
    const queue = queues.get(destination);
    if (queue !== undefined) {
      if (queue.subs.length === 0) return;
      const sub = queue.subs[queue.next++ % queue.subs.length];
      sub.client.ws.send(Buffer.concat([sub.head, shared]), { binary: false });
      return;
    }
    const subs = topics.get(destination);
    if (subs === undefined) return;
    for (const sub of subs) sub.client.ws.send(Buffer.concat([sub.head, shared]), { binary: false });
  } else if (command === 'SUBSCRIBE') {
    const destination = header(data, DESTINATION, headEnd);
    const id = header(data, ID, headEnd) || destination;
    const sub = { client, destination, head: Buffer.from(`MESSAGE\nsubscription:${id}\n`) };
    client.subs.push(sub);
    if (destination.startsWith('/queue/')) {
      let queue = queues.get(destination);
      if (queue === undefined) queues.set(destination, (queue = { subs: [], next: 0 }));
      queue.subs.push(sub);
    } else {
      let subs = topics.get(destination);
      if (subs === undefined) topics.set(destination, (subs = new Set()));
      subs.add(sub);
    }
  } else if (command === 'CONNECT' || command === 'STOMP') {
    client.ws.send(CONNECTED);
  } else if (command === 'DISCONNECT') {
    client.ws.close();
  }
  // ACK, NACK, UNSUBSCRIBE, BEGIN...: ignored.
}

function onClose(client) {
  for (const sub of client.subs) {
    const queue = queues.get(sub.destination);
    if (queue !== undefined) {
      queue.subs = queue.subs.filter((s) => s !== sub);
      continue;
    }
    const subs = topics.get(sub.destination);
    if (subs === undefined) continue;
    subs.delete(sub);
    if (subs.size === 0) topics.delete(sub.destination);
  }
  client.subs = [];
}

listen(server, 'floor');
