'use strict';
/**
 * A deliberately lean STOMP-over-WebSocket client for the load generator.
 *
 * On a 2-core machine the load generator competes with the server for CPU, so every cycle spent
 * here is a cycle the server under test does not get. This client therefore skips everything a
 * real client library does that the benchmark does not need:
 *
 * - Raw `net.Socket`s with a hand-written RFC 6455 handshake (no `ws` client, no event wrappers).
 * - Outgoing frames are masked with the all-zero key (legal: the key is XORed, RFC 6455 §5.3), so
 *   frames are pre-built templates and batches of them go out in one socket write.
 * - Incoming WebSocket frames are walked by a tiny resumable header parser and their payloads are
 *   skipped, never copied or decoded. Of a MESSAGE frame only the first byte ('M'), optionally
 *   its first bytes (to read an `ack` header), and its last 13 bytes (a 12-digit microsecond
 *   timestamp the publisher put at the end of the body, then the NUL) are looked at. Every other
 *   STOMP frame (CONNECTED, ERROR; RECEIPTs are ignored) is small and collected whole.
 *
 * Latency uses one clock: the load generator both publishes and receives, so the timestamp is
 * `performance.now()` of this very process, in microseconds.
 */
const crypto = require('node:crypto');
const { performance } = require('node:perf_hooks');
const { StompConn, stompBytes } = require('./stomp-conn');

const TS_DIGITS = 12;
const TAIL = TS_DIGITS + 1; // digits + NUL
// The last CAP bytes of a MESSAGE are kept: digits + NUL, or digits + NUL + '\n' (RabbitMQ's
// Web-STOMP ends every frame with an EOL after the NUL, as STOMP 1.2 allows).
const CAP = TAIL + 1;
const HEAD_CAPTURE = 160;
const M = 0x4d; // 'M'ESSAGE

function nowUs() {
  return Math.floor(performance.now() * 1000);
}

/** A client-to-server WebSocket text frame with a zero mask key. */
function wsFrame(payload) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.alloc(6);
    header[1] = 0x80 | len;
  } else if (len < 65536) {
    header = Buffer.alloc(8);
    header[1] = 0x80 | 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(14);
    header[1] = 0x80 | 127;
    header.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    header.writeUInt32BE(len >>> 0, 6);
  }
  header[0] = 0x81;
  return Buffer.concat([header, payload]);
}

/** One STOMP frame wrapped in one WebSocket frame. */
function stompFrame(command, headers, body = '') {
  return wsFrame(stompBytes(command, headers, body));
}

/**
 * A SEND template whose body ends with a 12-digit timestamp: `fill(buf, offset, tsUs)` copies the
 * template into `buf` and stamps it; `length` is the wire size of one frame.
 */
class SendTemplate {
  /** `frameOf` builds the wire frame (default: a WebSocket frame; bench/lib/tcp-client.js passes a raw one). */
  constructor(destination, bodyBytes, frameOf = stompFrame) {
    const pad = Math.max(0, bodyBytes - TS_DIGITS);
    const body = 'x'.repeat(pad) + '0'.repeat(TS_DIGITS);
    const bodyLength = Buffer.byteLength(body);
    this.frame = frameOf(
      'SEND',
      { destination, 'content-type': 'text/plain', 'content-length': String(bodyLength) },
      body,
    );
    this.length = this.frame.length;
    this.tsOffset = this.length - TAIL;
  }

  fill(buf, offset, tsUs) {
    this.frame.copy(buf, offset);
    let v = tsUs;
    const end = offset + this.tsOffset;
    for (let k = TS_DIGITS - 1; k >= 0; k--) {
      buf[end + k] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
  }

  /** `count` stamped frames in one buffer. */
  batch(count) {
    const buf = Buffer.allocUnsafe(this.length * count);
    const ts = nowUs();
    for (let i = 0; i < count; i++) this.fill(buf, i * this.length, ts);
    return buf;
  }
}

/**
 * One connection. `onMessage(conn, latencyUs, head)` is called per MESSAGE frame (`head` is the
 * first bytes of the frame when `captureHead` is set, else undefined); `onChunkEnd(conn)` after
 * each socket read was processed (to flush batched ACKs or top up a publish window).
 */
class Conn extends StompConn {
  constructor(port, options = {}) {
    super(port, options);
    this.path = options.path || '/ws';
    this.upgraded = false;
    this.httpBuf = null;
    // WebSocket frame parser state.
    this.hdr = Buffer.alloc(14);
    this.hdrLen = 0;
    this.hdrNeed = 2;
    this.remaining = 0;
    this.pos = 0;
    this.kind = -1;
    this.opcode = 0;
    this.tail = Buffer.alloc(CAP);
    this.head = this.captureHead ? Buffer.alloc(HEAD_CAPTURE) : null;
    this.headLen = 0;
  }

  frame(command, headers, body) {
    return stompFrame(command, headers, body);
  }

  /** The WebSocket upgrade; CONNECT follows the 101 (onData). */
  connected() {
    const key = crypto.randomBytes(16).toString('base64');
    this.socket.write(
      `GET ${this.path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: v12.stomp, v11.stomp, v10.stomp\r\n\r\n`,
    );
  }

  onData(chunk) {
    if (!this.upgraded) {
      chunk = this.httpBuf === null ? chunk : Buffer.concat([this.httpBuf, chunk]);
      const end = chunk.indexOf('\r\n\r\n');
      if (end === -1) {
        this.httpBuf = chunk;
        return;
      }
      const status = chunk.toString('latin1', 0, chunk.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 101/.test(status)) {
        this.errors.push('upgrade refused: ' + status);
        this.destroy();
        return;
      }
      this.upgraded = true;
      this.httpBuf = null;
      this.socket.write(this.connectFrame);
      chunk = chunk.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    super.onData(chunk);
  }

  parse(chunk) {
    const now = nowUs();
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining === 0) {
        const h = this.hdr;
        h[this.hdrLen++] = chunk[i++];
        if (this.hdrLen === 2) {
          const l = h[1] & 0x7f;
          this.hdrNeed = l < 126 ? 2 : l === 126 ? 4 : 10;
        }
        if (this.hdrLen >= 2 && this.hdrLen === this.hdrNeed) {
          const l = h[1] & 0x7f;
          const len = l < 126 ? l : l === 126 ? (h[2] << 8) | h[3] : h.readUInt32BE(2) * 0x100000000 + h.readUInt32BE(6);
          this.opcode = h[0] & 0x0f;
          this.hdrLen = 0;
          this.hdrNeed = 2;
          this.pos = 0;
          this.headLen = 0;
          this.kind = -1;
          if (len === 0) this.frameEnd(now);
          else this.remaining = len;
        }
        continue;
      }
      if (this.pos === 0) this.kind = this.opcode === 1 || this.opcode === 2 ? chunk[i] : -1;
      const take = this.remaining < n - i ? this.remaining : n - i;
      const end = i + take;
      const left = this.remaining - take;
      if (this.kind === M) {
        if (this.head !== null && this.headLen < HEAD_CAPTURE) {
          const upto = Math.min(end, i + HEAD_CAPTURE - this.headLen);
          chunk.copy(this.head, this.headLen, i, upto);
          this.headLen += upto - i;
        }
        if (left < CAP) {
          const from = Math.max(i, end - (CAP - left));
          chunk.copy(this.tail, CAP - left - (end - from), from, end);
        }
      } else {
        this.ctrl.push(Buffer.from(chunk.subarray(i, end)));
      }
      this.pos += take;
      this.remaining = left;
      i = end;
      if (left === 0) this.frameEnd(now);
    }
  }

  frameEnd(now) {
    const kind = this.kind;
    if (kind === M) {
      this.received++;
      let latency = -1;
      const t = this.tail;
      const at = t[CAP - 1] === 0 ? 1 : t[CAP - 1] === 10 && t[CAP - 2] === 0 ? 0 : -1;
      if (at >= 0) {
        let v = 0;
        for (let k = at; k < at + TS_DIGITS; k++) v = v * 10 + (t[k] - 48);
        latency = now - v;
      }
      if (this.onMessage !== null) this.onMessage(this, latency, this.head === null ? undefined : this.head.subarray(0, this.headLen));
      return;
    }
    const payload = this.ctrl.length === 1 ? this.ctrl[0] : Buffer.concat(this.ctrl);
    this.ctrl = [];
    if (this.opcode === 8) {
      this.closed = true;
      this.errors.push('websocket close ' + (payload.length >= 2 ? payload.readUInt16BE(0) : '') + ' ' + payload.toString('utf8', 2));
      this.socket.end();
      return;
    }
    this.control(kind, payload);
  }
}

/** Reads the value of `name` from a captured MESSAGE head (latin1 is enough for ids). */
function headerFromHead(head, name) {
  const text = head.toString('latin1');
  const at = text.indexOf('\n' + name + ':');
  if (at === -1) return undefined;
  const start = at + name.length + 2;
  const end = text.indexOf('\n', start);
  return end === -1 ? undefined : text.slice(start, end);
}

/** Opens `count` connections with at most `concurrency` handshakes in flight. */
async function openMany(count, factory, concurrency = 200) {
  const conns = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      conns[i] = await factory(i);
    }
  }
  const workers = [];
  for (let w = 0; w < Math.min(concurrency, count); w++) workers.push(worker());
  await Promise.all(workers);
  return conns;
}

module.exports = { Conn, SendTemplate, stompFrame, wsFrame, nowUs, headerFromHead, openMany };
