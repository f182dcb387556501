'use strict';
/**
 * `npm run bench`: every scenario against every server, interleaved by round, medians printed as a
 * markdown table, then the in-process micro-benches (bench/codec.js, bench/fanout-index.js).
 *
 *   node bench/run.js [--rounds N] [--only s1,s2] [--servers a,b] [--quick] [--json FILE]
 *                     [--cpu-prof DIR] [--no-codec] [--list]
 *
 *   --rounds N      rounds (default 3; 1 with --quick); medians are taken over them
 *   --only a,b      scenarios by key (--list shows them) or key prefix
 *   --servers a,b   stompkit, floor, stomp-broker-js, rabbitmq, or stompkit=<dist dir> (another build);
 *                   relay and web-stomp run only the relay scenario (below)
 *   --quick         small sizes and short windows: a smoke run under a minute, no micro-benches
 *   --json FILE     also write every run's raw result
 *   --cpu-prof DIR  run the servers with --cpu-prof, profiles written to DIR
 *   --no-codec      skip the in-process micro-benches (bench/codec.js, bench/fanout-index.js),
 *                   which otherwise run after a full, unfiltered run
 *
 * Each run is a fresh server process (bench/servers/<name>.js, `node --expose-gc`, port chosen by
 * the OS, 127.0.0.1 only) and a fresh load-generator process (bench/load.js), so one scenario's
 * garbage or JIT state never leaks into the next. Within a round every scenario runs against
 * every server before the next round starts, and the order of the servers rotates from round to
 * round, so a burst of noise on this shared machine hits all servers alike. Every run has a time
 * limit; children are killed when the runner exits or is interrupted.
 *
 * The `tcp-` scenarios speak STOMP over plain TCP (bench/lib/tcp-client.js): stompkit serves them
 * with `broker.listen()` in the same server process, and they also run against RabbitMQ's own
 * STOMP listener (127.0.0.1:61613, guest/guest; `scripts/rabbitmq-stomp.sh` enables it), which is
 * already running, so it is not restarted per run and its CPU is not measured. When that port is
 * closed the RabbitMQ runs are skipped with a notice.
 * The relay scenario (relay-fanout-1000) compares stompkit as two nodes on the RabbitMQ relay
 * (two bench/servers/relay.js processes, publisher on the first, subscribers spread over both)
 * with RabbitMQ's own Web-STOMP (127.0.0.1:15674/ws) serving the same subscribers directly. Both
 * need the local RabbitMQ (scripts/rabbitmq-stomp.sh); when its ports are closed (restarting) the
 * runner waits up to 30 s, then reports the run as failed.
 */
const { spawn } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SERVERS = {
  stompkit: { file: 'servers/stompkit.js', label: 'stompkit' },
  floor: { file: 'servers/floor.js', label: 'floor (ws 8)' },
  'stomp-broker-js': { file: 'servers/stomp-broker-js.js', label: 'stomp-broker-js (ws 5)' },
  // Not started by the bench: RabbitMQ's STOMP plugin on its conventional port.
  rabbitmq: {
    external: { host: '127.0.0.1', port: 61613, connectHeaders: { login: 'guest', passcode: 'guest', host: '/' } },
    label: 'RabbitMQ (STOMP TCP)',
  },
};
const ALL = Object.keys(SERVERS);
/** Servers of a scenario that names none: the WebSocket ones. */
const WS_SERVERS = ['stompkit', 'floor', 'stomp-broker-js'];
// Only for the relay scenario: two relay nodes, and RabbitMQ's Web-STOMP (no process of ours).
SERVERS.relay = { file: 'servers/relay.js', label: 'stompkit relay (2 nodes)', nodes: 2 };
SERVERS['web-stomp'] = { external: { port: 15674 }, label: 'RabbitMQ Web-STOMP' };

/**
 * `stompkit=<dir>` runs bench/servers/stompkit.js against another build of packages/core/dist
 * (STOMPKIT_DIST), for before/after comparisons in one interleaved run.
 */
function serverInfo(name) {
  if (SERVERS[name]) return { ...SERVERS[name], env: {} };
  const eq = name.indexOf('=');
  if (eq !== -1 && SERVERS[name.slice(0, eq)]) {
    const dist = path.resolve(name.slice(eq + 1));
    return { ...SERVERS[name.slice(0, eq)], label: `${name.slice(0, eq)} (${path.basename(dist)})`, env: { STOMPKIT_DIST: dist } };
  }
  return undefined;
}

const BODY = 100;
/** Scenario table: `params` for a full run, `quick` overrides for a smoke run. */
const SCENARIOS = [
  {
    key: 'fanout-100',
    title: '1 → 100 fan-out',
    load: 'fanout',
    metric: 'deliveriesPerSec',
    target: { floorAtLeast: 1.5 },
    params: { subscribers: 100, window: 32, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'fanout-1000',
    title: '1 → 1,000 fan-out',
    load: 'fanout',
    metric: 'deliveriesPerSec',
    target: { floorAtLeast: 1.5 },
    params: { subscribers: 1000, window: 32, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { subscribers: 200, warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'streams-50',
    title: '50 × 1:1 streams',
    load: 'streams',
    metric: 'deliveriesPerSec',
    target: { floorAtLeast: 0.9, peerAtLeast: 4 },
    params: { streams: 50, window: 16, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { streams: 10, warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'latency-200',
    title: '100 msg/s → 200 subscribers',
    load: 'latency',
    metric: 'p99Ms',
    lowerIsBetter: true,
    // No target: the latency target is at 1,000 subscribers (latency-1000). At 200 neither server is
    // near saturation and both p99s sit at ~6-8 ms, moving 0.9-1.1x against each other run to run.
    params: { subscribers: 200, rate: 100, bodyBytes: BODY, warmupMs: 1000, durationMs: 5000 },
    quick: { subscribers: 50, warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'latency-1000',
    title: '100 msg/s → 1,000 subscribers',
    load: 'latency',
    metric: 'p99Ms',
    lowerIsBetter: true,
    target: { floorAtMost: 1.0 },
    params: { subscribers: 1000, rate: 100, bodyBytes: BODY, warmupMs: 1000, durationMs: 5000 },
    quick: { subscribers: 200, warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'idle-10000',
    title: '10,000 idle subscribed connections',
    load: 'idle',
    metric: 'rssPerConnKB',
    lowerIsBetter: true,
    target: { floorPlusAtMost: 2, belowPeer: true },
    params: { connections: 10000, concurrency: 200, settleMs: 1000, samples: 5 },
    quick: { connections: 1000, settleMs: 200, samples: 2 },
  },
  {
    key: 'idle-10000-hb',
    title: '10,000 idle subscribed connections, heart-beats 10 s',
    load: 'idle',
    metric: 'rssPerConnKB',
    lowerIsBetter: true,
    // What an idle @stomp/stompjs client costs with its default heart-beats (10,000,10,000, also the
    // server's default). The floor and stomp-broker-js answer heart-beat 0,0, so only stompkit runs.
    servers: ['stompkit'],
    params: { connections: 10000, concurrency: 200, settleMs: 1000, samples: 5, heartbeat: '10000,10000' },
    quick: { connections: 1000, settleMs: 200, samples: 2 },
  },
  {
    key: 'queue-4',
    title: '/queue, 4 client-ack consumers',
    load: 'queue',
    metric: 'deliveriesPerSec',
    // stomp-broker-js has no queue semantics (every subscriber gets every message) and ignores
    // ACK, so it has nothing comparable to run.
    servers: ['stompkit', 'floor'],
    params: { consumers: 4, window: 64, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'tcp-fanout-100',
    title: 'TCP: 1 → 100 fan-out',
    load: 'fanout',
    transport: 'tcp',
    metric: 'deliveriesPerSec',
    servers: ['stompkit', 'rabbitmq'],
    target: { rabbitAtLeast: 3 },
    params: { subscribers: 100, window: 32, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'tcp-streams-50',
    title: 'TCP: 50 × 1:1 streams',
    load: 'streams',
    transport: 'tcp',
    metric: 'deliveriesPerSec',
    servers: ['stompkit', 'rabbitmq'],
    target: { rabbitAtLeast: 2 },
    params: { streams: 50, window: 16, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { streams: 10, warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'relay-fanout-1000',
    title: '1 → 1,000 fan-out over 2 nodes through RabbitMQ',
    load: 'fanout-nodes',
    metric: 'deliveriesPerSec',
    servers: ['relay', 'web-stomp'],
    target: { webStompAtLeast: 3, webStompP99AtMost: 1.0 },
    params: { subscribers: 1000, window: 32, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { subscribers: 200, warmupMs: 300, durationMs: 1000 },
    // Same topic, each server's own name for it (the relay maps '/' to RabbitMQ's '.').
    perServer: {
      relay: { destination: '/topic/bench/relay-fanout' },
      'web-stomp': { destination: '/topic/bench.relay-fanout', connectHeaders: { login: 'guest', passcode: 'guest', host: '/' } },
    },
  },
  {
    key: 'fanout-10',
    title: '1 → 10, no other subscriptions',
    load: 'fanout',
    metric: 'deliveriesPerSec',
    servers: ['stompkit'],
    params: { subscribers: 10, window: 32, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000 },
    quick: { warmupMs: 200, durationMs: 600 },
  },
  {
    key: 'fanout-10-100k',
    title: '1 → 10, with unrelated subscriptions',
    load: 'fanout',
    metric: 'deliveriesPerSec',
    servers: ['stompkit'],
    params: { subscribers: 10, window: 32, bodyBytes: BODY, warmupMs: 1000, durationMs: 3000, otherSubs: 100000, otherConns: 20, otherPatterns: 1000 },
    quick: { otherSubs: 10000, otherPatterns: 100, warmupMs: 200, durationMs: 600 },
  },
];

// ---- command line -----------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { rounds: 3, only: null, servers: null, quick: false, json: null, cpuProf: null, codec: true, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--rounds') args.rounds = Math.max(1, parseInt(value(), 10));
    else if (a === '--only') args.only = value().split(',');
    else if (a === '--servers') args.servers = value().split(',');
    else if (a === '--quick') args.quick = true;
    else if (a === '--json') args.json = value();
    else if (a === '--cpu-prof') args.cpuProf = path.resolve(value());
    else if (a === '--no-codec') args.codec = false;
    else if (a === '--list') args.list = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (args.quick && !argv.includes('--rounds')) args.rounds = 1;
  if (args.servers) for (const s of args.servers) if (!serverInfo(s)) throw new Error(`unknown server ${s} (${ALL.join(', ')}, stompkit=<dist dir>)`);
  return args;
}

// ---- child processes --------------------------------------------------------------------------

const children = new Set();

function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping children\n`);
    killAll();
    process.exit(130);
  });
}

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Whether something accepts TCP connections at host:port (within 2 s). */
function portOpen(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * An external server (RabbitMQ) is used as it runs. Another test may be restarting it, so a closed
 * port is retried for a few seconds before its runs are skipped.
 */
async function externalReady(external) {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (await portOpen(external.host, external.port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  return false;
}

function startServer(name, env, cpuProf) {
  const info = serverInfo(name);
  const nodeArgs = ['--expose-gc'];
  if (cpuProf) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${cpuProf}`);
  const child = track(
    spawn(process.execPath, [...nodeArgs, path.join(__dirname, info.file)], {
      env: { ...process.env, PORT: '0', BENCH_WATCH_STDIN: '1', ...info.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    if (stderr.length < 4000) stderr += d;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print ready within 15 s: ${stderr}`));
    }, 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)(?: \S+ tcp (\d+))?/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), tcpPort: m[2] === undefined ? undefined : Number(m[2]), stderr: () => stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before ready: ${stderr}`));
    });
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function runLoad(spec, timeoutMs) {
  const child = track(
    spawn(process.execPath, [path.join(__dirname, 'load.js'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    if (err.length < 4000) err += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, error: `timed out after ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.on('exit', () => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ ok: false, error: `no result (stdout: ${out.slice(0, 300)}; stderr: ${err.slice(0, 500)})` });
      }
    });
  });
}

/** Waits until RabbitMQ's `port` accepts connections (another suite may be restarting it). */
async function rabbitPort(port, waitMs = 30000) {
  const net = require('node:net');
  const deadline = Date.now() + waitMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`RabbitMQ is not listening on 127.0.0.1:${port} (run scripts/rabbitmq-stomp.sh as root)`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A relay-scenario run: two relay nodes, or RabbitMQ's Web-STOMP directly. */
async function runNodes(scenario, server, args, params, timeoutMs) {
  const info = serverInfo(server);
  const suffix = Math.random().toString(36).slice(2, 8);
  params = { ...params, ...scenario.perServer?.[server.split('=')[0]] };
  params.destination = `${params.destination}-${suffix}`;
  try {
    await rabbitPort(61613);
    await rabbitPort(15674);
  } catch (err) {
    return { ok: false, error: err.message };
  }
  if (info.external) {
    return runLoad({ port: info.external.port, ports: [info.external.port, info.external.port], scenario: scenario.load, params }, timeoutMs);
  }
  const nodes = [];
  try {
    const env = { ...scenario.serverEnv, RELAY_CLUSTER: `bench-${suffix}` };
    for (let i = 0; i < info.nodes; i++) nodes.push(await startServer(server, env, args.cpuProf));
  } catch (err) {
    await Promise.all(nodes.map((n) => stopServer(n.child)));
    return { ok: false, error: err.message };
  }
  const result = await runLoad({ port: nodes[0].port, ports: nodes.map((n) => n.port), scenario: scenario.load, params }, timeoutMs);
  await Promise.all(nodes.map((n) => stopServer(n.child)));
  if (!result.ok && nodes[0].stderr()) result.error += ` (server stderr: ${nodes[0].stderr().slice(0, 300)})`;
  return result;
}

async function runOne(scenario, server, args) {
  const params = { ...scenario.params, ...(args.quick ? scenario.quick : {}) };
  const timeoutMs = args.quick ? 45000 : 120000;
  if (scenario.perServer) return runNodes(scenario, server, args, params, timeoutMs);
  const external = serverInfo(server).external;
  if (external !== undefined) {
    if (!(await externalReady(external))) {
      return { ok: false, skipped: true, error: `skipped: nothing listens on ${external.host}:${external.port} (run scripts/rabbitmq-stomp.sh)` };
    }
    const spec = { port: null, stompPort: external.port, transport: 'tcp', connectHeaders: external.connectHeaders, scenario: scenario.load, params };
    return runLoad(spec, timeoutMs);
  }
  let srv;
  const tcp = scenario.transport === 'tcp';
  try {
    srv = await startServer(server, { ...scenario.serverEnv, ...(tcp ? { BENCH_TCP: '1' } : {}) }, args.cpuProf);
  } catch (err) {
    return { ok: false, error: err.message };
  }
  const spec = tcp
    ? { port: srv.port, stompPort: srv.tcpPort, transport: 'tcp', scenario: scenario.load, params }
    : { port: srv.port, scenario: scenario.load, params };
  const result = await runLoad(spec, timeoutMs);
  await stopServer(srv.child);
  if (!result.ok && srv.stderr()) result.error += ` (server stderr: ${srv.stderr().slice(0, 300)})`;
  return result;
}

// ---- statistics and tables --------------------------------------------------------------------

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function medians(results) {
  const ok = results.filter((r) => r.ok).map((r) => r.result);
  if (ok.length === 0) return null;
  const out = { rounds: ok.length };
  for (const key of Object.keys(ok[0])) {
    if (typeof ok[0][key] === 'number' || ok[0][key] === null) out[key] = median(ok.map((r) => r[key]));
    else if (typeof ok[0][key] === 'boolean') out[key] = ok.filter((r) => r[key]).length;
  }
  out.all = ok.map((r) => r);
  return out;
}

function fmt(value, digits = 0) {
  if (value === null || value === undefined) return '—';
  if (Math.abs(value) >= 1000 && digits === 0) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

function fmtMetric(metric, value) {
  if (value === null || value === undefined) return '—';
  if (metric === 'deliveriesPerSec') return fmt(value);
  if (metric === 'p99Ms') return fmt(value, 2) + ' ms';
  if (metric === 'rssPerConnKB') return fmt(value, 1) + ' KB';
  return fmt(value, 2);
}

function ratio(a, b) {
  if (a === null || b === null || a === undefined || b === undefined || b === 0) return null;
  return a / b;
}

function verdict(scenario, stats) {
  const t = scenario.target;
  if (!t) return '';
  const m = scenario.metric;
  const sk = stats.stompkit?.[m];
  const fl = stats.floor?.[m];
  const peer = stats['stomp-broker-js']?.[m];
  const rabbit = stats.rabbitmq?.[m];
  const checks = [];
  if (t.rabbitAtLeast !== undefined) {
    if (rabbit == null) checks.push([`≥ ${t.rabbitAtLeast}× RabbitMQ: not measured`, null]);
    else checks.push([`≥ ${t.rabbitAtLeast}× RabbitMQ (${fmt(ratio(sk, rabbit), 2)}×)`, sk / rabbit >= t.rabbitAtLeast]);
  }
  if (t.floorAtLeast !== undefined && fl != null) checks.push([`≥ ${t.floorAtLeast}× floor`, sk / fl >= t.floorAtLeast]);
  if (t.peerAtLeast !== undefined && peer != null) checks.push([`≥ ${t.peerAtLeast}× peer`, sk / peer >= t.peerAtLeast]);
  if (t.floorAtMost !== undefined && fl != null) checks.push([`≤ floor`, sk <= fl * t.floorAtMost]);
  if (t.floorPlusAtMost !== undefined && fl != null) checks.push([`≤ floor + ${t.floorPlusAtMost} KB`, sk <= fl + t.floorPlusAtMost]);
  if (t.belowPeer && peer != null) checks.push(['< peer', sk < peer]);
  if (t.webStompAtLeast !== undefined) {
    const relay = stats.relay;
    const web = stats['web-stomp'];
    if (relay == null || web == null) return `≥ ${t.webStompAtLeast}× Web-STOMP, p99 ≤ Web-STOMP: n/a`;
    const fast = relay[m] / web[m] >= t.webStompAtLeast;
    const p99 = relay.p99Ms != null && web.p99Ms != null && relay.p99Ms <= web.p99Ms * t.webStompP99AtMost;
    return `≥ ${t.webStompAtLeast}× Web-STOMP ${fast ? '✅' : '❌'}, p99 ≤ Web-STOMP ${p99 ? '✅' : '❌'}`;
  }
  if (sk == null) return checks.map(([name]) => `${name}: n/a`).join(', ');
  return checks.map(([name, ok]) => (ok === null ? name : `${name} ${ok ? '✅' : '❌'}`)).join(', ');
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => '| ' + r.map((cell, c) => String(cell).padEnd(widths[c])).join(' | ') + ' |';
  return [line(rows[0]), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n');
}

/** Servers whose runs were skipped (an external server not running). */
const skippedServers = new Set();

function report(summary, servers) {
  const out = [];
  const headline = [['Scenario', 'Metric', ...servers.map((s) => serverInfo(s).label), 'stompkit ÷ floor', 'stompkit ÷ peer', 'Target']];
  for (const { scenario, stats } of summary) {
    const m = scenario.metric;
    const get = (s) => stats[s]?.[m];
    const metricName = { deliveriesPerSec: 'deliveries/s', p99Ms: 'p99 latency', rssPerConnKB: 'RSS per connection' }[m];
    headline.push([
      scenario.title,
      metricName,
      ...servers.map((s) =>
        stats[s]
          ? fmtMetric(m, get(s)) + (stats[s].saturated ? ` (saturated ${stats[s].saturated}/${stats[s].rounds})` : '')
          : stats[s] === null
            ? (skippedServers.has(s) ? 'skipped' : 'failed')
            : 'n/a',
      ),
      fmt(ratio(get('stompkit'), get('floor')), 2) + (get('floor') != null && get('stompkit') != null ? '×' : ''),
      fmt(ratio(get('stompkit'), get('stomp-broker-js')), 2) + (get('stomp-broker-js') != null && get('stompkit') != null ? '×' : ''),
      verdict(scenario, stats),
    ]);
  }
  out.push(table(headline));

  const a = summary.find((x) => x.scenario.key === 'fanout-10')?.stats.stompkit;
  const b = summary.find((x) => x.scenario.key === 'fanout-10-100k')?.stats.stompkit;
  if (a && b) {
    out.push(
      '',
      `Unrelated subscriptions (stompkit, 1 → 10): ${fmt(a.deliveriesPerSec)} deliveries/s with none, ` +
        `${fmt(b.deliveriesPerSec)} with ${fmt(b.unrelatedSubscriptions)} of which ${fmt(b.unrelatedPatterns)} wildcard patterns (${fmt(ratio(b.deliveriesPerSec, a.deliveriesPerSec), 2)}×); ` +
        `server CPU ${fmt(a.serverCpuUsPerDelivery, 2)} vs ${fmt(b.serverCpuUsPerDelivery, 2)} µs/delivery.`,
    );
  }

  const relayRun = summary.find((x) => x.scenario.key === 'relay-fanout-1000')?.stats;
  if (relayRun?.relay && relayRun['web-stomp']) {
    const r = relayRun.relay;
    const w = relayRun['web-stomp'];
    out.push(
      '',
      `Relay (2 stompkit nodes, RabbitMQ behind) vs RabbitMQ Web-STOMP, same subscribers: ${fmt(r.deliveriesPerSec)} vs ${fmt(w.deliveriesPerSec)} deliveries/s ` +
        `(${fmt(ratio(r.deliveriesPerSec, w.deliveriesPerSec), 2)}×), p99 ${fmt(r.p99Ms, 2)} vs ${fmt(w.p99Ms, 2)} ms, p50 ${fmt(r.p50Ms, 2)} vs ${fmt(w.p50Ms, 2)} ms. ` +
        'Server CPU is node A only for the relay and not measured for RabbitMQ.',
    );
  }

  const detail = [['Scenario', 'Server', 'Rounds', 'Deliveries/s', 'p50 ms', 'p99 ms', 'Server CPU µs/delivery', 'Server CPU %', 'Load-gen CPU %', 'Server RSS MB', 'Per-conn KB (RSS / heap / external)']];
  for (const { scenario, stats } of summary) {
    for (const s of servers) {
      const r = stats[s];
      if (r === undefined) continue;
      if (r === null) {
        detail.push([scenario.title, serverInfo(s).label, 0, 'failed', '', '', '', '', '', '', '']);
        continue;
      }
      detail.push([
        scenario.title,
        serverInfo(s).label,
        r.rounds,
        fmt(r.deliveriesPerSec),
        fmt(r.p50Ms, 2),
        fmt(r.p99Ms, 2),
        fmt(r.serverCpuUsPerDelivery, 2),
        fmt(r.serverCpuPct, 0),
        fmt(r.loadCpuPct, 0),
        fmt(r.serverRssMB, 0),
        r.rssPerConnKB != null ? `${fmt(r.rssPerConnKB, 1)} / ${fmt(r.heapUsedPerConnKB, 1)} / ${fmt(r.externalPerConnKB, 1)}` : '',
      ]);
    }
  }
  out.push('', 'Details (medians):', '', table(detail));
  return out.join('\n');
}

// ---- micro-benches ----------------------------------------------------------------------------

/** Runs an in-process micro-bench of bench/ (built core required) and returns its output. */
function runMicro(name) {
  const file = path.join(__dirname, name);
  if (!fs.existsSync(file)) return Promise.resolve(`bench/${name} not found; skipped.`);
  const child = track(spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 300000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(out.trim() + (code ? `\n(bench/${name} exited with ${code})` : ''));
    });
  });
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let scenarios = SCENARIOS;
  if (args.only) {
    // An exact key selects that scenario; anything else selects the scenarios it prefixes.
    const exact = (o) => SCENARIOS.some((s) => s.key === o);
    scenarios = SCENARIOS.filter((s) => args.only.some((o) => s.key === o || (!exact(o) && s.key.startsWith(o))));
  }
  if (args.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.key.padEnd(16)} ${s.title}  [${(s.servers || WS_SERVERS).join(', ')}]\n`);
    return;
  }
  if (scenarios.length === 0) throw new Error(`--only matched no scenario (${SCENARIOS.map((s) => s.key).join(', ')})`);
  const servers = args.servers || ALL;
  if (args.cpuProf) fs.mkdirSync(args.cpuProf, { recursive: true });
  const startLoad = os.loadavg();
  const started = Date.now();
  const results = new Map(); // scenario key -> server -> [result]
  for (let round = 0; round < args.rounds; round++) {
    for (const scenario of scenarios) {
      const allowed = scenario.servers || WS_SERVERS;
      const list = (args.servers ? servers : allowed).filter((s) => allowed.includes(s) || allowed.includes(s.split('=')[0]));
      const rotated = list.map((_, i) => list[(i + round) % list.length]);
      for (const server of rotated) {
        const t = Date.now();
        const r = await runOne(scenario, server, args);
        if (r.skipped) skippedServers.add(server);
        const m = r.ok ? r.result[scenario.metric] : null;
        process.stderr.write(
          `round ${round + 1}/${args.rounds}  ${scenario.key.padEnd(15)} ${server.padEnd(16)} ` +
            (r.ok ? `${fmtMetric(scenario.metric, m)}` : `FAILED: ${r.error}`) +
            (r.ok && r.result.errors?.length ? `  (client saw: ${r.result.errors.join('; ')})` : '') +
            `  [${((Date.now() - t) / 1000).toFixed(1)} s, load ${os.loadavg()[0].toFixed(2)}]\n`,
        );
        if (!results.has(scenario.key)) results.set(scenario.key, new Map());
        const byServer = results.get(scenario.key);
        if (!byServer.has(server)) byServer.set(server, []);
        byServer.get(server).push(r);
      }
    }
  }
  const summary = scenarios.map((scenario) => {
    const stats = {};
    for (const [server, list] of results.get(scenario.key) || []) stats[server] = medians(list);
    return { scenario, stats };
  });
  const endLoad = os.loadavg();
  const cpus = os.cpus();
  const header = [
    `## Benchmark: stompkit vs the floor (minimal ws 8 fan-out) vs stomp-broker-js; over TCP vs RabbitMQ's STOMP plugin`,
    '',
    `- Command: \`npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}\``,
    `- Machine: ${cpus.length} × ${cpus[0]?.model?.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`,
    `- Rounds: ${args.rounds}${args.quick ? ' (quick sizes)' : ''}, medians; ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
      `load average ${startLoad.map((x) => x.toFixed(2)).join(' ')} at start, ${endLoad.map((x) => x.toFixed(2)).join(' ')} at end`,
    `- Messages: ${BODY}-byte bodies; publishers keep a bounded window of messages in flight (see bench/run.js); loopback only`,
    '',
  ];
  if (skippedServers.has('rabbitmq')) {
    header.push('> RabbitMQ was not reachable on 127.0.0.1:61613: its runs were skipped (start it with `scripts/rabbitmq-stomp.sh`).', '');
  }
  const shown = [...new Set([...servers, 'relay', 'web-stomp'])].filter((s) => summary.some((x) => x.stats[s] !== undefined));
  process.stdout.write(header.join('\n') + '\n' + report(summary, shown) + '\n');
  if (args.json) {
    const raw = summary.map(({ scenario, stats }) => ({ scenario: scenario.key, params: scenario.params, stats, runs: Object.fromEntries(results.get(scenario.key) || []) }));
    fs.writeFileSync(args.json, JSON.stringify({ argv: process.argv.slice(2), node: process.version, startLoad, endLoad, raw }, null, 2));
  }
  if (args.codec && !args.only && !args.servers && !args.quick) {
    process.stdout.write('\n### Codec (bench/codec.js)\n\n```\n' + (await runMicro('codec.js')) + '\n```\n');
    process.stdout.write('\n### Publish cost vs unrelated subscriptions, in process (bench/fanout-index.js)\n\n```\n' + (await runMicro('fanout-index.js')) + '\n```\n');
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  },
);
