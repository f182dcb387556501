'use strict';
/**
 * The load generator: one scenario against one running server, in its own process, so the
 * server's work is what is measured. Started by bench/run.js as
 *
 *     node bench/load.js '{"port":12345,"scenario":"fanout","params":{...}}'
 *
 * and prints one JSON line, `{ ok, result }` or `{ ok: false, error }`.
 *
 * Every throughput scenario is closed-loop: a publisher keeps at most `window` messages in flight
 * (sent and not yet delivered to all their subscribers), so server buffers stay bounded and the
 * measured rate is what the server sustains. Counting starts after a warm-up and covers a fixed
 * wall-clock window; the server's CPU time over the same window (from its /stats endpoint) gives
 * CPU per delivery, the least noisy number on a shared machine.
 *
 * Scenarios
 *   fanout   { subscribers, window, bodyBytes, warmupMs, durationMs, otherSubs, otherConns, otherPatterns }
 *            1 publisher → N subscribers of one topic; with otherSubs, that many unrelated
 *            subscriptions (distinct destinations, over otherConns connections, otherPatterns of
 *            them wildcard patterns) are opened first.
 *   streams  { streams, window, bodyBytes, warmupMs, durationMs }   N independent 1:1 topic streams.
 *   latency  { subscribers, rate, bodyBytes, warmupMs, durationMs } open-loop: `rate` msg/s to N.
 *   queue    { consumers, window, bodyBytes, warmupMs, durationMs } 1 publisher → a /queue with
 *            N client-individual consumers that ACK every message.
 *   fanout-nodes { subscribers, window, bodyBytes, warmupMs, durationMs, destination, path, connectHeaders }
 *            1 publisher on the first of `spec.ports` → N subscribers of one topic spread
 *            round-robin over every port (two relay nodes, or RabbitMQ Web-STOMP twice).
 *   idle     { connections, concurrency, settleMs, samples, forceGc, heartbeat }  server RSS growth per idle
 *            subscribed connection between connections/2 and connections: the lowest of
 *            `samples` samples, each taken after a full GC (unless forceGc is false). `heartbeat`
 *            is the CONNECT heart-beat header (default 0,0: none).
 */
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const spec = JSON.parse(process.argv[2]);
// `transport: 'tcp'`: STOMP over plain TCP to `stompPort` (stompkit's broker.listen or RabbitMQ's
// STOMP plugin), with `connectHeaders` (e.g. RabbitMQ's login) on every CONNECT; `port` is then the
// server's /stats port, or null when the server has none (RabbitMQ: no server CPU figures).
const TCP = spec.transport === 'tcp';
const client = TCP ? require('./lib/tcp-client') : require('./lib/raw-client');
const { SendTemplate, stompFrame, headerFromHead, openMany } = client;
const PORT = TCP ? spec.stompPort : spec.port;
const STATS_PORT = spec.port;

class Conn extends client.Conn {
  open(connectHeaders = {}, timeoutMs) {
    return super.open({ ...spec.connectHeaders, ...connectHeaders }, timeoutMs);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function serverStats(gc = false, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    if (STATS_PORT == null) return reject(new Error('this server has no /stats endpoint'));
    const req = http.get({ host: '127.0.0.1', port: STATS_PORT, path: gc ? '/stats?gc=1' : '/stats', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('stats timeout')));
  });
}

/** Counters of a server that may be saturated (its event loop far behind): null after 5 s. */
function serverStatsOrNull() {
  return serverStats(false, 5000).catch(() => null);
}

/** Latency histogram in 10 µs buckets up to 10 s, plus a delivery counter, both gated by `on`. */
class Meter {
  constructor() {
    this.hist = new Uint32Array(1_000_001);
    this.samples = 0;
    this.count = 0;
    this.on = false;
    this.maxUs = 0;
  }

  record(latencyUs) {
    if (!this.on) return;
    this.count++;
    if (latencyUs < 0) return;
    const b = Math.floor(latencyUs / 10);
    this.hist[b < 1_000_000 ? b : 1_000_000]++;
    this.samples++;
    if (latencyUs > this.maxUs) this.maxUs = latencyUs;
  }

  /** p-th percentile in ms (upper edge of the bucket). */
  percentile(p) {
    if (this.samples === 0) return null;
    const rank = Math.ceil((p / 100) * this.samples);
    let seen = 0;
    for (let b = 0; b < this.hist.length; b++) {
      seen += this.hist[b];
      if (seen >= rank) return ((b + 1) * 10) / 1000;
    }
    return null;
  }
}

/** Publishes a probe every 20 ms until every one of `conns` has received a MESSAGE. */
async function barrier(pub, destination, conns, timeoutMs = 60000) {
  const tpl = new SendTemplate(destination, 32);
  const start = Date.now();
  const base = conns.map((c) => c.received);
  for (;;) {
    let missing = 0;
    for (let i = 0; i < conns.length; i++) if (conns[i].received === base[i]) missing++;
    if (missing === 0) return;
    if (pub.closed) throw new Error('publisher connection closed: ' + pub.errors.join('; '));
    if (Date.now() - start > timeoutMs) throw new Error(`barrier on ${destination}: ${missing} of ${conns.length} subscribers got nothing`);
    pub.write(tpl.batch(1));
    await sleep(20);
  }
}

/** Runs `body` during warm-up and a measured window; returns rate, latency and server counters. */
async function measure(meter, counter, { warmupMs, durationMs }, extra = {}) {
  await sleep(warmupMs);
  const s0 = await serverStatsOrNull();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const d0 = counter();
  meter.on = true;
  await sleep(durationMs);
  meter.on = false;
  const t1 = performance.now();
  const d1 = counter();
  const c1 = process.cpuUsage();
  const s1 = await serverStatsOrNull();
  const seconds = (t1 - t0) / 1000;
  const deliveries = d1 - d0;
  const serverCpuUs = s0 && s1 ? s1.cpuUser + s1.cpuSystem - (s0.cpuUser + s0.cpuSystem) : NaN;
  return {
    deliveries,
    seconds,
    deliveriesPerSec: deliveries / seconds,
    p50Ms: meter.percentile(50),
    p99Ms: meter.percentile(99),
    maxMs: meter.maxUs / 1000,
    serverCpuUsPerDelivery: deliveries > 0 && serverCpuUs >= 0 ? serverCpuUs / deliveries : null,
    serverCpuPct: serverCpuUs >= 0 ? (serverCpuUs / 1e6 / seconds) * 100 : null,
    loadCpuPct: ((c1.user + c1.system - c0.user - c0.system) / 1e6 / seconds) * 100,
    serverRssMB: s1 ? s1.rss / 1048576 : null,
    ...extra,
  };
}

function collectErrors(conns) {
  const errors = [];
  for (const c of conns) for (const e of c.errors) if (errors.length < 5) errors.push(e);
  return errors;
}

async function waitDrained(done, ms = 3000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(10);
}

// ---- scenarios --------------------------------------------------------------------------------

async function fanout(p) {
  return topicFanout(p, { destination: '/topic/bench.fanout', ports: [PORT], concurrency: 200, settleMs: 100, unrelated: true });
}

/** 1 publisher on ports[0] → N subscribers spread over `spec.ports` (relay nodes, or Web-STOMP). */
async function fanoutNodes(p) {
  const ports = spec.ports || [PORT];
  return topicFanout(p, {
    destination: p.destination,
    ports,
    connOptions: { path: p.path || '/ws' },
    headers: p.connectHeaders || {},
    concurrency: 50,
    settleMs: 200,
    extra: { nodes: ports.length },
    destroy: true,
  });
}

/**
 * The closed-loop topic fan-out both scenarios above run: 1 publisher on ports[0] → N subscribers
 * of `destination`, round-robin over `ports`. `unrelated`: open p.otherSubs unrelated
 * subscriptions first and report them; `destroy`: close every connection once measured.
 */
async function topicFanout(p, { destination, ports, connOptions = {}, headers = {}, concurrency, settleMs, unrelated = false, extra = {}, destroy = false }) {
  const meter = new Meter();
  let delivered = 0;
  let sent = 0;
  let running = false;
  const tpl = new SendTemplate(destination, p.bodyBytes);
  const n = p.subscribers;
  const pub = await new Conn(ports[0], connOptions).open(headers);
  const pump = () => {
    if (!running) return;
    const room = Math.floor(p.window - (sent - delivered / n));
    if (room > 0) {
      pub.write(tpl.batch(room));
      sent += room;
    }
  };
  const onMessage = (conn, latency) => {
    delivered++;
    meter.record(latency);
  };
  const subs = await openMany(n, async (i) => {
    const c = await new Conn(ports[i % ports.length], { ...connOptions, onMessage, onChunkEnd: pump }).open(headers);
    c.subscribe(destination, 'sub-' + i);
    return c;
  }, concurrency);
  let others = [];
  let setupMs = 0;
  if (unrelated && p.otherSubs > 0) {
    const t = performance.now();
    others = await openUnrelated(pub, p.otherSubs, p.otherConns, p.otherPatterns);
    setupMs = performance.now() - t;
  }
  await barrier(pub, destination, subs);
  await sleep(settleMs);
  delivered = 0;
  sent = 0;
  running = true;
  pump();
  const timer = setInterval(pump, 5); // never stall on a lost wake-up
  const result = await measure(meter, () => delivered, p, {
    connections: n + 1 + others.length,
    ...(unrelated
      ? { unrelatedSubscriptions: p.otherSubs || 0, unrelatedPatterns: p.otherPatterns || 0, unrelatedSetupMs: setupMs }
      : {}),
    ...extra,
  });
  running = false;
  clearInterval(timer);
  await waitDrained(() => delivered >= sent * n);
  result.errors = collectErrors([pub, ...subs, ...others]);
  if (destroy) for (const c of [pub, ...subs]) c.destroy();
  return result;
}

/** `total` subscriptions to distinct unrelated destinations over `connCount` connections. */
async function openUnrelated(pub, total, connCount, patterns = 0) {
  const conns = [];
  const patternEvery = patterns > 0 ? Math.floor(total / patterns) : 0;
  const per = Math.ceil(total / connCount);
  let k = 0;
  for (let c = 0; c < connCount; c++) {
    const conn = await new Conn(PORT).open();
    const frames = [];
    for (let j = 0; j < per && k < total; j++, k++) {
      // Every `patternEvery`-th one is a wildcard pattern (stompkit's '/'-separated syntax).
      const destination = patternEvery > 0 && k % patternEvery === 0 ? `/topic/unrelated/${k}/*` : `/topic/unrelated.${k}`;
      frames.push(stompFrame('SUBSCRIBE', { id: 'u' + j, destination, ack: 'auto' }));
      if (frames.length === 1000) conn.write(Buffer.concat(frames.splice(0)));
    }
    frames.push(stompFrame('SUBSCRIBE', { id: 'barrier', destination: '/topic/bench.barrier', ack: 'auto' }));
    conn.write(Buffer.concat(frames));
    conns.push(conn);
  }
  // Frames are handled in order, so once each connection hears from its last subscription the
  // unrelated ones before it are all in place.
  await barrier(pub, '/topic/bench.barrier', conns, 120000);
  return conns;
}

async function streams(p) {
  const meter = new Meter();
  let delivered = 0;
  let running = false;
  const pairs = [];
  for (let i = 0; i < p.streams; i++) {
    const destination = `/topic/bench.stream.${i}`;
    pairs.push({ destination, tpl: new SendTemplate(destination, p.bodyBytes), sent: 0, got: 0, pub: null, sub: null });
  }
  const pump = (pair) => {
    if (!running) return;
    const room = p.window - (pair.sent - pair.got);
    if (room > 0) {
      pair.pub.write(pair.tpl.batch(room));
      pair.sent += room;
    }
  };
  await openMany(p.streams, async (i) => {
    const pair = pairs[i];
    pair.pub = await new Conn(PORT).open();
    pair.sub = await new Conn(PORT, {
      onMessage: (conn, latency) => {
        delivered++;
        pair.got++;
        meter.record(latency);
      },
      onChunkEnd: () => pump(pair),
    }).open();
    pair.sub.subscribe(pair.destination, 'sub-0');
    await barrier(pair.pub, pair.destination, [pair.sub]);
  }, 10);
  await sleep(100);
  delivered = 0;
  for (const pair of pairs) pair.sent = pair.got = 0;
  running = true;
  for (const pair of pairs) pump(pair);
  const timer = setInterval(() => pairs.forEach(pump), 5);
  const result = await measure(meter, () => delivered, p, { connections: p.streams * 2 });
  running = false;
  clearInterval(timer);
  await waitDrained(() => pairs.every((pair) => pair.got >= pair.sent));
  result.errors = collectErrors(pairs.flatMap((pair) => [pair.pub, pair.sub]));
  return result;
}

async function latency(p) {
  const destination = '/topic/bench.latency';
  const meter = new Meter();
  let delivered = 0;
  let sent = 0;
  let running = true;
  const tpl = new SendTemplate(destination, p.bodyBytes);
  const pub = await new Conn(PORT).open();
  const subs = await openMany(p.subscribers, async (i) => {
    const c = await new Conn(PORT, {
      onMessage: (conn, lat) => {
        delivered++;
        meter.record(lat);
      },
    }).open();
    c.subscribe(destination, 'sub-' + i);
    return c;
  });
  await barrier(pub, destination, subs);
  await sleep(100);
  delivered = 0;
  // Open loop: one message every 1000/rate ms on a drift-free schedule, stamped when written.
  const interval = 1000 / p.rate;
  let next = performance.now();
  const tick = () => {
    if (!running) return;
    const now = performance.now();
    let due = 0;
    while (next <= now) {
      due++;
      next += interval;
    }
    if (due > 0) {
      pub.write(tpl.batch(due));
      sent += due;
    }
    setTimeout(tick, Math.max(0, next - performance.now()));
  };
  tick();
  const result = await measure(meter, () => delivered, p, {
    connections: p.subscribers + 1,
    offeredPerSec: p.rate * p.subscribers,
  });
  running = false;
  // A server that cannot keep up falls ever further behind: its latency is queueing, not a property
  // of how it writes. Flag it instead of waiting for its backlog.
  result.saturated = result.deliveriesPerSec < 0.95 * p.rate * p.subscribers;
  if (!result.saturated) await waitDrained(() => delivered >= sent * p.subscribers);
  result.errors = collectErrors([pub, ...subs]);
  return result;
}

async function queue(p) {
  const destination = '/queue/bench.work';
  const meter = new Meter();
  let delivered = 0;
  let sent = 0;
  let running = false;
  const tpl = new SendTemplate(destination, p.bodyBytes);
  const pub = await new Conn(PORT).open();
  const pump = () => {
    if (!running) return;
    const room = p.window - (sent - delivered);
    if (room > 0) {
      pub.write(tpl.batch(room));
      sent += room;
    }
  };
  const onMessage = (conn, lat, head) => {
    delivered++;
    meter.record(lat);
    const id = headerFromHead(head, 'ack') ?? headerFromHead(head, 'message-id') ?? 'none';
    conn.acks.push(stompFrame('ACK', { id }));
  };
  const onChunkEnd = (conn) => {
    if (conn.acks.length > 0) conn.write(conn.acks.length === 1 ? conn.acks[0] : Buffer.concat(conn.acks));
    conn.acks = [];
    pump();
  };
  const consumers = [];
  for (let i = 0; i < p.consumers; i++) {
    const c = new Conn(PORT, { onMessage, onChunkEnd, captureHead: true });
    c.acks = [];
    await c.open();
    c.subscribe(destination, 'sub-' + i, 'client-individual');
    consumers.push(c);
  }
  // A queue message reaches one consumer, so probe until each got one (round-robin does that fast).
  await barrier(pub, destination, consumers);
  await sleep(200);
  delivered = 0;
  sent = 0;
  running = true;
  pump();
  const timer = setInterval(pump, 5);
  const result = await measure(meter, () => delivered, p, { connections: p.consumers + 1 });
  running = false;
  clearInterval(timer);
  await waitDrained(() => delivered >= sent);
  result.errors = collectErrors([pub, ...consumers]);
  return result;
}

async function idle(p) {
  const half = Math.floor(p.connections / 2);
  const conns = [];
  const open = async (from, to) => {
    const opened = await openMany(to - from, async (j) => {
      const i = from + j;
      const c = await new Conn(PORT).open(p.heartbeat ? { 'heart-beat': p.heartbeat } : {});
      c.subscribe(`/topic/bench.idle.${i}`, 'sub-0');
      return c;
    }, p.concurrency);
    conns.push(...opened);
  };
  const sample = async () => {
    await sleep(p.settleMs);
    let best = null;
    for (let s = 0; s < p.samples; s++) {
      const st = await serverStats(p.forceGc !== false);
      if (best === null || st.rss < best.rss) best = st;
      await sleep(200);
    }
    return best;
  };
  const t0 = performance.now();
  await open(0, half);
  const openRate = half / ((performance.now() - t0) / 1000);
  const a = await sample();
  await open(half, p.connections);
  const b = await sample();
  const alive = conns.filter((c) => !c.closed).length;
  const n = p.connections - half;
  const perConn = (key) => (b[key] - a[key]) / n;
  return {
    connections: p.connections,
    alive,
    openPerSec: openRate,
    rssPerConnKB: perConn('rss') / 1024,
    heapUsedPerConnKB: perConn('heapUsed') / 1024,
    externalPerConnKB: perConn('external') / 1024,
    arrayBuffersPerConnKB: perConn('arrayBuffers') / 1024,
    serverRssMB: b.rss / 1048576,
    serverRssHalfMB: a.rss / 1048576,
    errors: collectErrors(conns),
  };
}

const SCENARIOS = { fanout, streams, latency, queue, idle, 'fanout-nodes': fanoutNodes };

async function main() {
  const run = SCENARIOS[spec.scenario];
  if (run === undefined) throw new Error(`unknown scenario ${spec.scenario}`);
  const result = await run(spec.params);
  process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stdout.write(JSON.stringify({ ok: false, error: String((err && err.stack) || err) }) + '\n');
    process.exit(1);
  },
);
