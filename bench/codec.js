'use strict';
/**
 * Codec throughput: `node bench/codec.js` (build first: `npx tsc -b packages/core`).
 *
 * Every row warms up, then all rows are measured round-robin in short windows timed with
 * process.hrtime.bigint (about 1 s per row in all), so a burst of load elsewhere on the machine
 * hits every row alike instead of ruining one. The table shows the median window (what to expect)
 * and the best one (what the code does when the machine leaves it alone). MB/s counts wire bytes:
 * encoded frames in, or out.
 */
const { Decoder, encodeFrame, encodeMessage } = require('../packages/core/dist/codec/index.js');

const WARMUP_NS = 150e6;
const WINDOW_NS = 100e6;
const WINDOWS = 10;

/** One window of `step` (which returns [frames, bytes] handled): [frames/s, bytes/s]. */
function window(step, ns) {
  let frames = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ns);
  let now = start;
  while (now < end) {
    const done = step();
    frames += done[0];
    bytes += done[1];
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return [frames / seconds, bytes / seconds];
}

const rows = [];
function row(label, step, check) {
  rows.push({ label, step, check, rates: [] });
}

// ---- decode ---------------------------------------------------------------------------------

const sendHeaders = [
  ['destination', '/queue/bench'],
  ['content-type', 'text/plain'],
  ['receipt', 'r-1'],
];

function sendFrame(bodyLength, withLength) {
  const body = Buffer.alloc(bodyLength, 0x61);
  if (withLength) return encodeFrame({ command: 'SEND', headers: sendHeaders, body }, '1.2');
  const head = Buffer.from('SEND\n' + sendHeaders.map((h) => h.join(':') + '\n').join('') + '\n');
  return Buffer.concat([head, body, Buffer.from([0])]);
}

function batched(frame) {
  const perChunk = Math.max(1, Math.floor(65536 / frame.length));
  return [[Buffer.concat(Array(perChunk).fill(frame))], perChunk];
}

function split(buffer, size) {
  const chunks = [];
  for (let at = 0; at < buffer.length; at += size) chunks.push(buffer.subarray(at, at + size));
  return chunks;
}

function decodeRow(label, chunks, framesPerRound) {
  let count = 0;
  const decoder = new Decoder({ frame: () => count++ });
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.length;
  row(
    label,
    () => {
      for (let i = 0; i < chunks.length; i++) decoder.push(chunks[i]);
      return [framesPerRound, bytes];
    },
    () => {
      if (count === 0 || decoder.bufferedBytes !== 0) throw new Error(`${label}: decoder did not consume its input`);
    },
  );
}

const small = sendFrame(100, true);
const smallNoLength = sendFrame(100, false);
const big = sendFrame(65536, true);
const perChunk = batched(small)[1];

decodeRow(`decode SEND 100 B, ${perChunk} frames per chunk`, ...batched(small));
decodeRow('decode SEND 100 B, no content-length, batched', ...batched(smallNoLength));
decodeRow('decode SEND 100 B, one frame per chunk', [small], 1);
decodeRow('decode SEND 64 KiB, one frame per chunk (view)', [big], 1);
decodeRow('decode SEND 64 KiB, 16 KiB chunks (copied)', split(big, 16384), 1);
{
  const source = Buffer.alloc(65536, 1);
  const target = Buffer.allocUnsafe(65536);
  row('reference: Buffer.copy 64 KiB (cache-hot)', () => {
    source.copy(target);
    return [1, 65536];
  });
  row('reference: allocate + copy 64 KiB', () => {
    source.copy(Buffer.allocUnsafe(65536));
    return [1, 65536];
  });
}

// ---- encode ---------------------------------------------------------------------------------

function encodeRow(label, encode) {
  row(label, () => {
    let bytes = 0;
    for (let i = 0; i < 100; i++) bytes += encode();
    return [100, bytes];
  });
}

const smallBody = Buffer.alloc(100, 0x61);
const bigBody = Buffer.alloc(65536, 0x61);
encodeRow('encodeFrame SEND 100 B', () => encodeFrame({ command: 'SEND', headers: sendHeaders, body: smallBody }, '1.2').length);
encodeRow('encodeFrame SEND 64 KiB', () => encodeFrame({ command: 'SEND', headers: sendHeaders, body: bigBody }, '1.2').length);

function message(body) {
  return { id: 'node-1-42', destination: '/topic/bench', headers: [['priority', '4']], body, contentType: 'text/plain' };
}
for (const [size, body] of [
  ['100 B', smallBody],
  ['64 KiB', bigBody],
]) {
  const msg = message(body);
  let n = 0;
  encodeRow(`encodeMessage ${size}, shared part cached`, () => {
    const parts = encodeMessage(msg, '1.2', 'sub-' + (n++ & 7), undefined, false);
    return parts[0].length + parts[1].length;
  });
}
encodeRow('encodeMessage 100 B, new message each time', () => {
  const parts = encodeMessage(message(smallBody), '1.2', 'sub-0', undefined, false);
  return parts[0].length + parts[1].length;
});

// ---- run ------------------------------------------------------------------------------------

for (const r of rows) window(r.step, WARMUP_NS);
for (let w = 0; w < WINDOWS; w++) {
  for (const r of rows) r.rates.push(window(r.step, WINDOW_NS));
}
for (const r of rows) r.check?.();

function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
const width = Math.max(...rows.map((r) => r.label.length));
const header = `${'row'.padEnd(width)} | ${'frames/s'.padStart(11)} | ${'MB/s'.padStart(9)} | ${'best frames/s'.padStart(13)} | ${'best MB/s'.padStart(9)}`;
console.log(`node ${process.version}; median and best of ${WINDOWS} windows of ${WINDOW_NS / 1e6} ms per row`);
console.log(header);
console.log('-'.repeat(header.length));
for (const r of rows) {
  const sorted = r.rates.slice().sort((a, b) => a[0] - b[0]);
  const median = sorted[sorted.length >> 1];
  const best = sorted[sorted.length - 1];
  console.log(
    `${r.label.padEnd(width)} | ${fmt(median[0]).padStart(11)} | ${fmt(median[1] / 1e6, 1).padStart(9)} | ${fmt(best[0]).padStart(13)} | ${fmt(best[1] / 1e6, 1).padStart(9)}`,
  );
}
