/**
 * The demo: a plain http.Server with STOMP on /ws. Any client may connect (no login needed),
 * publish and subscribe on any /topic/... or /queue/... destination.
 *
 *   PORT=8080                 HTTP port (default 8080)
 *   STOMP_HEARTBEAT=cx,cy     the server's heart-beat offer in ms (default 10000,10000)
 */
import { createServer } from 'node:http';
import { createBroker } from '@stompkit/core';

function heartbeatFromEnv(value: string | undefined): [number, number] | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (match === null) throw new Error(`STOMP_HEARTBEAT must look like '10000,10000', got '${value}'`);
  return [Number(match[1]), Number(match[2])];
}

const port = Number(process.env.PORT ?? 8080);
const broker = createBroker({ heartbeat: heartbeatFromEnv(process.env.STOMP_HEARTBEAT) });

const page = `<!doctype html><meta charset="utf-8"><title>stompkit</title>
<h1>stompkit</h1><p>STOMP 1.0–1.2 over WebSocket at <code>ws://HOST/ws</code>.
Subscribe and send to any <code>/topic/...</code> or <code>/queue/...</code> destination.</p>`;

const server = createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, ...broker.stats() }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page.replace('HOST', req.headers.host ?? `localhost:${port}`));
});

broker.attach(server, { path: '/ws' });

server.listen(port, () => {
  process.stdout.write(`stompkit demo on http://localhost:${port} — STOMP endpoint ws://localhost:${port}/ws\n`);
});

function shutdown(): void {
  server.close();
  void broker.close({ timeout: 2000 }).then(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
