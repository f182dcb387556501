'use strict';
/**
 * Publish cost against the number of unrelated subscriptions: `node bench/fanout-index.js`
 * (build first: `npx tsc -b packages/core`).
 *
 * Every row publishes one message to `/topic/bench/x`, which reaches 10 subscriptions (in-process
 * consumers that only count), with 0 or 100,000 other subscriptions in the same SimpleBroker:
 * exact names (`/topic/other/<i>`), distinct patterns (`/topic/other/<i>/*`), or patterns that
 * stay active during the trie walk (`/topic/**` + `/u<i>`). The 10 receivers subscribe by exact
 * name or by the pattern `/topic/bench/*`. "cache off" rows set patternCacheSize 0, so every
 * publish walks the pattern trie (the cost of a cache miss). The issue #6 target: 1 → 10 fan-out
 * costs about the same with 0 and with 100,000 unrelated subscriptions.
 *
 * Each row warms up, then runs 10 windows of ~100 ms timed with process.hrtime.bigint; the table
 * shows ns per publish (median window, best window) and the median relative to the matching
 * 0-unrelated row.
 *
 * A second table measures cache invalidation under pattern churn: 200 patterns `/topic/room<i>/*`
 * plus `/topic/**`, publishes round-robin over 1024 destinations (the whole default cache), and
 * every N publishes one session subscribes and unsubscribes a pattern nobody used before
 * (`/topic/new<i>/**`). Each such subscribe and unsubscribe invalidates the cache.
 */
const { SimpleBroker } = require('../packages/core/dist/broker/index.js');

const WARMUP_NS = 300e6;
const WINDOW_NS = 100e6;
const WINDOWS = 10;
const FANOUT = 10;
const UNRELATED = 100_000;
const BATCH = 1000;

function window(step, ns) {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ns);
  let now = start;
  while (now < end) {
    n += step();
    now = process.hrtime.bigint();
  }
  return Number(now - start) / n; // ns per publish
}

const noop = { sessionId: 'unrelated', deliver() {} };

function setup({ receivers, unrelated, cache = true }) {
  const broker = new SimpleBroker(cache ? {} : { patternCacheSize: 0 });
  for (let i = 0; i < unrelated.count; i++) {
    broker.subscribe(noop, { id: String(i), destination: unrelated.destination(i), ack: 'auto' });
  }
  let delivered = 0;
  for (let r = 0; r < FANOUT; r++) {
    const consumer = { sessionId: `r${r}`, deliver() { delivered++; } };
    broker.subscribe(consumer, { id: 's', destination: receivers, ack: 'auto' });
  }
  const message = { id: 'bench-1', destination: '/topic/bench/x', headers: [], body: Buffer.from('hello') };
  const step = () => {
    for (let i = 0; i < BATCH; i++) broker.publish(message);
    return BATCH;
  };
  const check = (published) => {
    if (delivered !== published * FANOUT) throw new Error(`expected ${published * FANOUT} deliveries, got ${delivered}`);
  };
  return { step, check, stats: () => broker.stats() };
}

const none = { label: '0', count: 0 };
const exactOthers = { label: `${UNRELATED.toLocaleString('en-US')} exact`, count: UNRELATED, destination: (i) => `/topic/other/${i}` };
const patternOthers = { label: `${UNRELATED.toLocaleString('en-US')} patterns`, count: UNRELATED, destination: (i) => `/topic/other/${i}/*` };
const globstarOthers = { label: `${UNRELATED.toLocaleString('en-US')} /topic/**/u<i>`, count: UNRELATED, destination: (i) => `/topic/**/u${i}` };

const plans = [
  ['exact', '/topic/bench/x', none, true],
  ['exact', '/topic/bench/x', exactOthers, true],
  ['exact', '/topic/bench/x', patternOthers, true],
  ['exact', '/topic/bench/x', globstarOthers, true],
  ['pattern /topic/bench/*', '/topic/bench/*', none, true],
  ['pattern /topic/bench/*', '/topic/bench/*', exactOthers, true],
  ['pattern /topic/bench/*', '/topic/bench/*', patternOthers, true],
  ['pattern /topic/bench/*', '/topic/bench/*', globstarOthers, true],
  ['pattern /topic/bench/*', '/topic/bench/*', none, false],
  ['pattern /topic/bench/*', '/topic/bench/*', patternOthers, false],
  ['pattern /topic/bench/*', '/topic/bench/*', globstarOthers, false],
];

// All rows stay alive and their windows interleave (row 1, row 2, …, row 1, …), so a busy
// machine slows every row alike instead of whichever ran at the wrong moment.
const rows = [];
for (const [receiversLabel, receivers, unrelated, cache] of plans) {
  const t0 = process.hrtime.bigint();
  const { step, check, stats } = setup({ receivers, unrelated, cache });
  const setupMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const row = { receivers: receiversLabel, unrelated: unrelated.label, cache: cache ? 'on' : 'off', setupMs, samples: [], published: 0, stats, check };
  row.step = () => {
    const n = step();
    row.published += n;
    return n;
  };
  rows.push(row);
}
for (const row of rows) window(row.step, WARMUP_NS);
for (let w = 0; w < WINDOWS; w++) for (const row of rows) row.samples.push(window(row.step, WINDOW_NS));
for (const row of rows) {
  row.check(row.published);
  row.samples.sort((a, b) => a - b);
  row.median = row.samples[row.samples.length >> 1];
  row.best = row.samples[0];
}

// ---- pattern churn ----------------------------------------------------------------------------

function churnRow(every) {
  const broker = new SimpleBroker();
  let delivered = 0;
  const consumer = { sessionId: 'c', deliver() { delivered++; } };
  for (let i = 0; i < 200; i++) broker.subscribe(consumer, { id: `room${i}`, destination: `/topic/room${i}/*`, ack: 'auto' });
  broker.subscribe(consumer, { id: 'all', destination: '/topic/**', ack: 'auto' });
  const messages = Array.from({ length: 1024 }, (_, k) => ({ id: `m${k}`, destination: `/topic/room${k % 200}/m${k}`, headers: [], body: Buffer.from('x') }));
  let k = 0;
  let n = 0;
  const step = () => {
    for (let i = 0; i < BATCH; i++) {
      if (++n % every === 0) {
        broker.subscribe(noop, { id: 'churn', destination: `/topic/new${n}/**`, ack: 'auto' });
        broker.unsubscribe(noop.sessionId, 'churn');
      }
      broker.publish(messages[k++ & 1023]);
    }
    return BATCH;
  };
  window(step, WARMUP_NS);
  const samples = [];
  for (let w = 0; w < WINDOWS; w++) samples.push(window(step, WINDOW_NS));
  if (delivered === 0) throw new Error('nothing delivered');
  samples.sort((a, b) => a - b);
  return { every, median: samples[samples.length >> 1], best: samples[0] };
}

const churn = [1, 10, 100, 1000, Infinity].map(churnRow);

const baseline = (row) => rows.find((r) => r.receivers === row.receivers && r.cache === row.cache && r.unrelated === '0');
const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const cols = [
  ['10 receivers subscribe by', (r) => r.receivers],
  ['unrelated subscriptions', (r) => r.unrelated],
  ['cache', (r) => r.cache],
  ['ns/publish (median)', (r) => fmt(r.median)],
  ['best', (r) => fmt(r.best)],
  ['vs 0 unrelated', (r) => `${fmt(r.median / baseline(r).median, 2)}x`],
  ['subscriptions', (r) => fmt(r.stats().subscriptions)],
  ['setup ms', (r) => fmt(r.setupMs)],
];
const widths = cols.map(([title, get]) => Math.max(title.length, ...rows.map((r) => get(r).length)));
console.log(`node ${process.version}; 1 → ${FANOUT} fan-out, median and best of ${WINDOWS} windows of ${WINDOW_NS / 1e6} ms per row`);
const line = (cells) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
console.log(line(cols.map(([title]) => title)));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(cols.map(([, get]) => get(r))));

console.log('');
console.log('pattern churn: 1024 hot destinations, 201 patterns; every N publishes a new pattern is subscribed and unsubscribed');
console.log(`${'N'.padEnd(8)} | ${'ns/publish (median)'.padStart(19)} | ${'best'.padStart(6)}`);
console.log(`${'-'.repeat(8)}-|-${'-'.repeat(19)}-|-${'-'.repeat(6)}`);
for (const r of churn) {
  console.log(`${(r.every === Infinity ? 'never' : String(r.every)).padEnd(8)} | ${fmt(r.median).padStart(19)} | ${fmt(r.best).padStart(6)}`);
}
