'use strict';
/**
 * What the two lean load-generator clients share: bench/lib/raw-client.js (STOMP over WebSocket)
 * and bench/lib/tcp-client.js (STOMP over plain TCP) differ only in how frames are wrapped and
 * found on the socket. This base opens the socket, keeps the waiters for CONNECTED, and handles
 * the control frames (CONNECTED, ERROR) once a subclass has found one; the subclass supplies
 * `frame(command, headers, body)` (the wire bytes of one STOMP frame), `connected()` (what to write
 * once the TCP connection is up) and `parse(chunk)` (its frame parser, on the hot path).
 */
const net = require('node:net');

const C = 0x43; // 'C'ONNECTED
const E = 0x45; // 'E'RROR

/** The bytes of one STOMP frame, unwrapped. */
function stompBytes(command, headers, body = '') {
  let text = command + '\n';
  for (const name of Object.keys(headers)) text += name + ':' + headers[name] + '\n';
  return Buffer.from(text + '\n' + body + '\0', 'utf8');
}

class StompConn {
  constructor(port, options = {}) {
    this.port = port;
    this.host = options.host || '127.0.0.1';
    this.captureHead = options.captureHead === true;
    this.onMessage = options.onMessage || null;
    this.onChunkEnd = options.onChunkEnd || null;
    this.received = 0;
    this.errors = [];
    this.socket = null;
    this.closed = false;
    this.ctrl = [];
    this.waiters = []; // {kind, resolve, reject}
  }

  /** TCP connect, then the subclass's opening (a WebSocket upgrade, or CONNECT at once); resolves on CONNECTED. */
  open(connectHeaders = {}, timeoutMs = 20000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.destroy();
        reject(new Error('connect timeout'));
      }, timeoutMs);
      const done = (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(this);
      };
      const socket = net.connect({ port: this.port, host: this.host, noDelay: true });
      this.socket = socket;
      socket.on('error', (err) => {
        this.errors.push(err.message);
        done(err);
      });
      socket.on('close', () => {
        this.closed = true;
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w.reject(new Error('connection closed: ' + (this.errors.join('; ') || 'by peer')));
      });
      this.connectFrame = this.frame('CONNECT', { 'accept-version': '1.2,1.1,1.0', host: '127.0.0.1', 'heart-beat': '0,0', ...connectHeaders });
      socket.on('connect', () => this.connected());
      this.waiters.push({ kind: C, resolve: () => done(), reject: done });
      socket.on('data', (chunk) => this.onData(chunk));
    });
  }

  /** One socket read: parsed, then `onChunkEnd` (to flush batched ACKs or top up a publish window). */
  onData(chunk) {
    this.parse(chunk);
    if (this.onChunkEnd !== null) this.onChunkEnd(this);
  }

  write(buf) {
    if (!this.closed) this.socket.write(buf);
  }

  subscribe(destination, id, ack = 'auto') {
    this.write(this.frame('SUBSCRIBE', { id, destination, ack }));
  }

  destroy() {
    if (this.socket && !this.socket.destroyed) this.socket.destroy();
    this.closed = true;
  }

  /** A whole control frame (`kind` is its first byte): CONNECTED settles open(), ERROR fails every waiter. */
  control(kind, payload) {
    if (kind === C) {
      this.version = /\nversion:([^\n]*)/.exec(payload.toString('utf8'))?.[1];
      const idx = this.waiters.findIndex((w) => w.kind === C);
      if (idx !== -1) this.waiters.splice(idx, 1)[0].resolve();
    } else if (kind === E) {
      const text = payload.toString('utf8').replace(/\0$/, '');
      this.errors.push('ERROR frame: ' + text.slice(0, 300));
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(new Error(text.slice(0, 300)));
    }
  }
}

module.exports = { StompConn, stompBytes };
