'use strict';
/**
 * The lean load-generator client of bench/lib/raw-client.js, for STOMP over plain TCP: the same
 * interface (`Conn`, `SendTemplate`, `stompFrame`, ...) so bench/load.js runs its scenarios over
 * either transport, against stompkit's `broker.listen()` or RabbitMQ's STOMP plugin.
 *
 * A TCP connection is a byte stream, so frames are found in it rather than given by WebSocket
 * framing: the header block ends at the first blank line (found with a native indexOf; a block
 * split across reads is carried over), `content-length` says how many body bytes to skip, and a
 * frame without one ends at the next NUL. EOLs between frames are heart-beats and are skipped. As
 * in raw-client.js, MESSAGE bodies are never copied or decoded: only their first bytes (for `ack`)
 * and the 12-digit timestamp before the NUL are looked at.
 */
const { SendTemplate: WsSendTemplate, nowUs, headerFromHead, openMany } = require('./raw-client');
const { StompConn, stompBytes } = require('./stomp-conn');

const TS_DIGITS = 12;
const TAIL = TS_DIGITS + 1; // digits + NUL
const HEAD_CAPTURE = 160;
const M = 0x4d; // 'M'ESSAGE
const LF = 0x0a;
const CR = 0x0d;
const BLANK_LINE = Buffer.from('\n\n');
const CONTENT_LENGTH = Buffer.from('\ncontent-length:');

/** One STOMP frame as bytes on the stream. */
const stompFrame = stompBytes;

/** raw-client.js's SEND template, framed for TCP. */
class SendTemplate extends WsSendTemplate {
  constructor(destination, bodyBytes) {
    super(destination, bodyBytes, stompFrame);
  }
}

class Conn extends StompConn {
  constructor(port, options = {}) {
    super(port, options);
    // Stream parser state: a header block carried over from the last read, the body bytes still
    // to skip (content-length + NUL), or -1 = seek the NUL (no content-length).
    this.carry = null;
    this.remaining = 0;
    this.kind = -1;
    this.tail = Buffer.alloc(TAIL);
    this.tailLen = 0;
    this.head = null;
  }

  frame(command, headers, body) {
    return stompFrame(command, headers, body);
  }

  /** No handshake on TCP: CONNECT at once. */
  connected() {
    this.socket.write(this.connectFrame);
  }

  parse(chunk) {
    const now = nowUs();
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        // Skipping a body of known length (its last byte is the NUL).
        const take = this.remaining < n - i ? this.remaining : n - i;
        const end = i + take;
        this.body(chunk, i, end);
        this.remaining -= take;
        i = end;
        if (this.remaining === 0) this.frameEnd(now);
        continue;
      }
      if (this.remaining === -1) {
        // No content-length: the body ends at the next NUL.
        const nul = chunk.indexOf(0, i);
        const end = nul === -1 ? n : nul + 1;
        this.body(chunk, i, end);
        i = end;
        if (nul !== -1) {
          this.remaining = 0;
          this.frameEnd(now);
        }
        continue;
      }
      if (this.carry === null) {
        const b = chunk[i];
        if (b === LF || b === CR) {
          i++; // a heart-beat between frames
          continue;
        }
      }
      // A header block: from the carried-over start, or from here.
      let data = chunk;
      let start = i;
      let carried = 0;
      if (this.carry !== null) {
        carried = this.carry.length;
        data = Buffer.concat([this.carry, chunk.subarray(i)]);
        start = 0;
      }
      const blank = data.indexOf(BLANK_LINE, start);
      if (blank === -1) {
        this.carry = Buffer.from(data.subarray(start));
        return;
      }
      this.carry = null;
      const headEnd = blank + 2;
      this.kind = data[start];
      this.tailLen = 0;
      const at = data.indexOf(CONTENT_LENGTH, start);
      let length = -1;
      if (at !== -1 && at < blank) {
        length = 0;
        for (let k = at + CONTENT_LENGTH.length; data[k] !== LF && data[k] !== CR; k++) length = length * 10 + (data[k] - 48);
      }
      if (this.kind === M) {
        if (this.captureHead) this.head = Buffer.from(data.subarray(start, Math.min(headEnd, start + HEAD_CAPTURE)));
      } else {
        this.ctrl.push(Buffer.from(data.subarray(start, headEnd)));
      }
      this.remaining = length === -1 ? -1 : length + 1;
      // Continue in `chunk` right after the header block.
      i = carried > 0 ? i + (headEnd - carried) : headEnd;
    }
  }

  /** Body bytes [from, to) of the current frame: MESSAGE keeps its last 13 (digits + NUL), others are kept whole. */
  body(chunk, from, to) {
    if (this.kind !== M) {
      this.ctrl.push(Buffer.from(chunk.subarray(from, to)));
      return;
    }
    const bytes = to - from;
    const win = this.tail;
    if (bytes >= TAIL) {
      chunk.copy(win, 0, to - TAIL, to);
      this.tailLen = TAIL;
      return;
    }
    const keep = Math.min(this.tailLen, TAIL - bytes);
    win.copy(win, 0, this.tailLen - keep, this.tailLen);
    chunk.copy(win, keep, from, to);
    this.tailLen = keep + bytes;
  }

  frameEnd(now) {
    const kind = this.kind;
    this.kind = -1;
    if (kind === M) {
      this.received++;
      let latency = -1;
      const t = this.tail;
      if (this.tailLen === TAIL && t[TS_DIGITS] === 0) {
        let v = 0;
        for (let k = 0; k < TS_DIGITS; k++) v = v * 10 + (t[k] - 48);
        latency = now - v;
      }
      this.tailLen = 0;
      if (this.onMessage !== null) this.onMessage(this, latency, this.head === null ? undefined : this.head);
      return;
    }
    const payload = this.ctrl.length === 1 ? this.ctrl[0] : Buffer.concat(this.ctrl);
    this.ctrl = [];
    this.control(kind, payload);
  }
}

module.exports = { Conn, SendTemplate, stompFrame, nowUs, headerFromHead, openMany };
