'use strict';
/**
 * Where the memory of an idle subscribed connection goes, object by object.
 *
 *   node bench/heap.js [--servers stompkit,floor,stomp-broker-js] [--from 1000] [--to 4000]
 *                      [--heartbeat 10000,10000]
 *
 * For each server (a fresh process, as in bench/run.js): open `from` idle connections (CONNECT +
 * one SUBSCRIBE to a destination of their own; heart-beats off unless `--heartbeat` gives the
 * CONNECT's heart-beat header), take
 * a heap snapshot after a full GC, open up to `to`, take another, and divide the difference by the
 * connections added. Prints, per server, the heap bytes per connection by V8 node type and
 * constructor (rows of at least 8 bytes), then one table of the totals. `synthetic` rows are
 * native objects V8 reports (a TCP handle's wrapper); the heap total excludes memory outside the
 * V8 heap (socket buffers, malloc), which is why the RSS figures of bench/run.js are higher.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Conn, openMany } = require('./lib/raw-client');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1];
};
const SERVERS = option('servers', 'stompkit,floor,stomp-broker-js').split(',');
const FROM = Number(option('from', '1000'));
const TO = Number(option('to', '4000'));
const HEARTBEAT = option('heartbeat', undefined);

function get(port, url) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function start(name) {
  const file = path.join(__dirname, 'servers', `${name}.js`);
  const child = spawn(process.execPath, ['--expose-gc', file], {
    env: { ...process.env, PORT: '0', BENCH_HEAP_SNAPSHOTS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code} before ready`)));
  });
}

/** Self size and count per "type constructor" of every node in a snapshot file (deleted after). */
function summarize(file) {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const meta = snapshot.snapshot.meta;
  const width = meta.node_fields.length;
  const types = meta.node_types[0];
  const at = (field) => meta.node_fields.indexOf(field);
  const [TYPE, NAME, SIZE] = [at('type'), at('name'), at('self_size')];
  const { nodes, strings } = snapshot;
  const rows = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + TYPE]];
    let name = type.includes('string') ? '(strings)' : type === 'code' ? '(compiled code)' : strings[nodes[i + NAME]];
    if (type === 'array' && name === '') name = '(internal arrays: hash tables, backing stores)';
    const key = `${type} ${name.slice(0, 60)}`;
    const row = rows.get(key) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += nodes[i + SIZE];
    rows.set(key, row);
  }
  return rows;
}

async function measure(name) {
  const { child, port } = await start(name);
  const open = async (from, to) => {
    await openMany(to - from, async (j) => {
      const c = await new Conn(port).open(HEARTBEAT === undefined ? {} : { 'heart-beat': HEARTBEAT });
      c.subscribe(`/topic/bench.idle.${from + j}`, 'sub-0');
      return c;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
  };
  try {
    await open(0, FROM);
    const before = summarize(await get(port, '/heapsnapshot'));
    await open(FROM, TO);
    const after = summarize(await get(port, '/heapsnapshot'));
    const n = TO - FROM;
    const rows = [];
    for (const [key, row] of after) {
      const old = before.get(key) ?? { count: 0, bytes: 0 };
      rows.push({ key, count: (row.count - old.count) / n, bytes: (row.bytes - old.bytes) / n });
    }
    rows.sort((a, b) => b.bytes - a.bytes);
    return rows;
  } finally {
    child.kill();
  }
}

async function main() {
  const totals = [];
  for (const name of SERVERS) {
    const rows = await measure(name);
    const total = rows.reduce((sum, r) => sum + r.bytes, 0);
    totals.push([name, total]);
    console.log(`\n## ${name}: heap bytes per idle subscribed connection (${FROM} → ${TO} connections)\n`);
    console.log('| bytes | objects | V8 type and constructor |');
    console.log('|------:|--------:|-------------------------|');
    for (const r of rows.filter((r) => r.bytes >= 8)) console.log(`| ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} | ${r.key} |`);
    console.log(`| **${total.toFixed(0)}** | | total |`);
  }
  console.log('\n| server | heap bytes per connection |\n|---|---:|');
  for (const [name, total] of totals) console.log(`| ${name} | ${total.toFixed(0)} |`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
