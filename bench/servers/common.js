'use strict';
/**
 * What every benchmark server shares: an HTTP server on 127.0.0.1:$PORT (0 = any free port) whose
 * plain requests answer `GET /stats` with the process's memory and CPU counters (after a full GC
 * when the process runs with --expose-gc and `?gc=1` is asked), SIGTERM/SIGINT ending the process
 * normally (so --cpu-prof profiles get written), and a `ready <port>` line on stdout once listening.
 * With BENCH_HEAP_SNAPSHOTS=1, `GET /heapsnapshot` writes a heap snapshot (bench/heap.js).
 */
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

function stats(gc) {
  if (gc && typeof global.gc === 'function') global.gc();
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { ...mem, cpuUser: cpu.user, cpuSystem: cpu.system, uptime: process.uptime() };
}

function handleStats(req, res) {
  if (process.env.BENCH_HEAP_SNAPSHOTS === '1' && req.url.startsWith('/heapsnapshot')) {
    // bench/heap.js: a full GC, then a heap snapshot written to a file; answers its path.
    if (typeof global.gc === 'function') global.gc();
    const file = require('node:v8').writeHeapSnapshot(path.join(os.tmpdir(), `stompkit-bench-${process.pid}-${Date.now()}.heapsnapshot`));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(file);
    return true;
  }
  if (req.url.startsWith('/stats')) {
    const body = JSON.stringify(stats(req.url.includes('gc=1')));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  }
  return false;
}

function createStatsServer(extra) {
  return http.createServer((req, res) => {
    if (handleStats(req, res)) return;
    if (extra && extra(req, res)) return;
    res.writeHead(404);
    res.end();
  });
}

function listen(server, name) {
  const port = parseInt(process.env.PORT || '0', 10);
  server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
    process.stdout.write(`ready ${server.address().port} ${name}\n`);
  });
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.BENCH_WATCH_STDIN === '1') {
    // The runner's pipe closing means the runner is gone: never outlive it.
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

module.exports = { createStatsServer, listen };
