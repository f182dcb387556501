/**
 * Incremental STOMP frame decoder: bytes in, {@link Frame}s out, no I/O.
 *
 * Grammar (STOMP 1.2 §"Augmented BNF"):
 *
 *     frame = command EOL *( header EOL ) EOL *OCTET NULL *( EOL )      EOL = [CR] LF
 *
 * The decoder is a byte-level state machine over a list of received chunks (the idea of ws's
 * Receiver and nats.js's parser): chunks are kept as they arrived, positions are (chunk, offset)
 * pairs plus a count of bytes from the start of the current frame, and nothing is copied until a
 * frame is complete. States:
 *
 * - IDLE: between frames. Each EOL here is a heart-beat (1.2 §"Heart-beating"; the `*( EOL )`
 *   after NULL in the grammar is the same thing) and is reported once per EOL. A CR must be
 *   followed by LF. Any other octet starts a command line.
 * - HEAD: looking for the blank line that ends the header block, one `indexOf(LF)` per line. Line
 *   count and block size are checked at every line and chunk boundary, so an endless header block
 *   is refused as soon as it passes `maxHeaderBytes`, not when it finally ends.
 * - Once the block is complete it is decoded to text in ONE call (a view of the chunk, or a copy
 *   when it spans chunks; only strings come out of that copy, so the scratch buffer can be reused)
 *   and command, names and values are cut from that string. This is "each header decoded once from
 *   a slice" at its cheapest: one native decode per frame instead of one per field. UTF-8 validity
 *   (1.2 §"Value Encoding": "commands and headers are encoded in UTF-8") is checked on the same
 *   block: the decoder replaces bad sequences with U+FFFD, so only a block whose text contains
 *   U+FFFD needs the exact `isUtf8` test.
 * - BODY_LENGTH: the first `content-length` (1.2 §"Repeated Header Entries": first wins) says how
 *   many octets to take "regardless of whether or not there are NULL octets in the body" (1.2
 *   §"Header content-length"); the decoder waits until that many bytes are buffered without looking
 *   at them, then requires the NUL. A length the frame limit cannot hold is refused right after the
 *   header block, before any body byte is buffered.
 * - BODY_NUL: no `content-length`; `indexOf(0)` finds the end, resuming where the last push stopped.
 *
 * Invariants:
 * - Every byte is examined at most once by JS-level work (resumable scans), so feeding a frame one
 *   byte at a time costs O(frame), not O(frame²).
 * - A body is a `subarray` of the caller's chunk when it lies in one chunk (the caller gave up the
 *   chunk by pushing it), else a fresh copy. Bodies never point into decoder-owned memory that is
 *   reused, so emitted frames are never clobbered by later input.
 * - Header text is never trimmed (1.2 §"Value Encoding": "MUST never trim or pad"); lines split at
 *   the first ':'; repeated headers are kept in order.
 * - Unescaping depends on {@link Decoder.version} and happens when a frame is emitted, so a version
 *   negotiated in the frame callback (or while paused) applies to the very next frame.
 * - Errors are fatal: the first StompError is kept and rethrown by every later push/resume.
 */
import { isUtf8 } from 'node:buffer';
import { StompError, type StompErrorCode } from '../errors';
import { EMPTY_BODY, type Frame, type HeaderList } from './frame';
import { isUnescapedCommand } from './commands';
import { unescapeFrom } from './escape';
import type { StompVersion } from './versions';

export interface DecoderOptions {
  /** Max bytes of one frame: command + headers + body (the terminating NUL is not counted). Default 1 MiB (1048576). */
  maxFrameBytes?: number;
  /** Max header lines per frame (the command line is not a header). Default 100. */
  maxHeaders?: number;
  /** Max bytes of the command line + header block, EOLs and the blank line included. Default 64 KiB (65536). */
  maxHeaderBytes?: number;
}

export interface DecoderHandlers {
  frame(frame: Frame): void;
  /** An EOL seen between frames (a heart-beat, or EOLs after a NUL). Optional. */
  heartbeat?(): void;
}

export const DEFAULT_MAX_FRAME_BYTES = 1048576;
export const DEFAULT_MAX_HEADERS = 100;
export const DEFAULT_MAX_HEADER_BYTES = 65536;

const LF = 10;
const CR = 13;

const IDLE = 0;
const HEAD = 1;
const BODY_LENGTH = 2;
const BODY_NUL = 3;

/** Longest piece of offending input quoted back in an error message. */
const QUOTE_MAX = 40;

export class Decoder {
  /**
   * Governs unescaping of header values of frames emitted from now on (CONNECT/STOMP/CONNECTED are
   * never unescaped). Default '1.2'. May be changed from inside the frame callback; the next frame
   * in the same chunk then uses the new version.
   */
  version: StompVersion = '1.2';

  private readonly handlers: DecoderHandlers;
  private readonly maxFrameBytes: number;
  private readonly maxHeaders: number;
  private readonly maxHeaderBytes: number;
  /** The head may not grow past this many bytes: the smaller of the two limits that bound it. */
  private readonly headCap: number;

  // Input: chunks[0][start] is the first unconsumed byte (the start of the current frame).
  private chunks: Buffer[] = [];
  private start = 0;
  private total = 0;

  private state = IDLE;
  private failure: StompError | null = null;
  private isPaused = false;
  /** Guards against re-entrant parsing when the frame callback pushes or resumes. */
  private running = false;
  /** Heart-beats consumed while paused, reported on resume before the next frame. */
  private pendingHeartbeats = 0;
  /** A complete frame held back by pause(); headers still escaped (see `readyEscapes`). */
  private ready: Frame | null = null;
  private readyEscapes: number[] | null = null;

  // HEAD scan position: chunks[scanChunk][scanOffset] is `scanned` bytes from the frame start.
  private scanChunk = 0;
  private scanOffset = 0;
  private scanned = 0;
  private lineStart = 0;
  private lines = 0;
  /** Last byte of the previous chunk, to see a CR of a CRLF split across chunks. */
  private prevByte = 0;

  // Current frame, once its head is parsed.
  private headLength = 0;
  private command = '';
  private headers: HeaderList = [];
  /** Indexes (header * 2 + 0 for name, + 1 for value) of texts holding a backslash; null if none. */
  private escapes: number[] | null = null;
  private contentLength = -1;
  /** Where the body starts: chunks[bodyChunk][bodyOffset]. */
  private bodyChunk = 0;
  private bodyOffset = 0;

  /** Reused to join a header block that spans chunks; only strings are cut from it. */
  private scratch: Buffer = EMPTY_BODY;

  constructor(handlers: DecoderHandlers, options: DecoderOptions = {}) {
    this.handlers = handlers;
    this.maxFrameBytes = limit(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
    this.maxHeaders = limit(options.maxHeaders, DEFAULT_MAX_HEADERS, 'maxHeaders');
    this.maxHeaderBytes = limit(options.maxHeaderBytes, DEFAULT_MAX_HEADER_BYTES, 'maxHeaderBytes');
    this.headCap = Math.min(this.maxHeaderBytes, this.maxFrameBytes);
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Bytes currently buffered for an incomplete frame (and anything after it). */
  get bufferedBytes(): number {
    return this.total;
  }

  /**
   * Feed bytes. Takes ownership of `chunk` (the caller will not modify it). Synchronously emits
   * every complete frame. Throws a StompError on any protocol violation; after that the decoder is
   * failed and every later push throws the same error.
   */
  push(chunk: Buffer): void {
    if (this.failure !== null) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (!this.running) this.run();
  }

  /**
   * Called from inside the frame callback: stop after the current frame. Unparsed bytes stay
   * buffered. While paused the decoder still scans ahead to the end of the next frame (without
   * emitting it or any heart-beat), so limits and framing errors are enforced on what can be known.
   */
  pause(): void {
    this.isPaused = true;
  }

  /** Continue parsing buffered bytes synchronously (emitting frames), then accept pushes normally. */
  resume(): void {
    if (this.failure !== null) throw this.failure;
    if (!this.isPaused) return;
    this.isPaused = false;
    if (!this.running) this.run();
  }

  private run(): void {
    this.running = true;
    try {
      this.loop();
    } finally {
      this.running = false;
    }
  }

  private loop(): void {
    for (;;) {
      if (this.isPaused) {
        // Only work that emits nothing: scan the next frame, then wait.
        if (this.ready !== null) return;
      } else {
        while (this.pendingHeartbeats > 0) {
          this.pendingHeartbeats--;
          this.handlers.heartbeat?.();
          if (this.isPaused) break;
        }
        if (this.isPaused) continue;
        if (this.ready !== null) {
          const frame = this.ready;
          const escapes = this.readyEscapes;
          this.ready = null;
          this.readyEscapes = null;
          this.emit(frame, escapes);
          continue;
        }
      }
      switch (this.state) {
        case IDLE: {
          if (this.total === 0) return;
          const c = this.chunks[0][this.start];
          if (c === LF) {
            this.consume(1);
            this.heartbeat();
            continue;
          }
          if (c === CR) {
            if (this.total < 2) return;
            if (this.byteAt(1) !== LF) this.fail('STOMP_ERR_BAD_FRAME', 'CR not followed by LF between frames');
            this.consume(2);
            this.heartbeat();
            continue;
          }
          this.beginHead();
          continue;
        }
        case HEAD:
          if (!this.scanHead()) return;
          this.parseHead();
          continue;
        case BODY_LENGTH:
          if (!this.takeBodyByLength()) return;
          continue;
        case BODY_NUL:
          if (!this.takeBodyByNul()) return;
          continue;
      }
    }
  }

  private heartbeat(): void {
    if (this.isPaused) this.pendingHeartbeats++;
    else this.handlers.heartbeat?.();
  }

  private beginHead(): void {
    this.state = HEAD;
    this.scanChunk = 0;
    this.scanOffset = this.start;
    this.scanned = 0;
    this.lineStart = 0;
    this.lines = 0;
    this.prevByte = 0;
  }

  /**
   * Advance the HEAD scan over what is buffered. Returns true once the blank line is found
   * (`headLength` set, body position recorded), false when more bytes are needed.
   */
  private scanHead(): boolean {
    const chunks = this.chunks;
    const cap = this.headCap;
    while (this.scanChunk < chunks.length) {
      const buf = chunks[this.scanChunk];
      const offset = this.scanOffset;
      const lf = buf.indexOf(LF, offset);
      if (lf === -1) {
        this.scanned += buf.length - offset;
        this.prevByte = buf[buf.length - 1];
        this.scanChunk++;
        this.scanOffset = 0;
        if (this.scanned > cap) this.headTooLarge();
        continue;
      }
      const at = this.scanned + (lf - offset); // position of this LF from the frame start
      if (at >= cap) this.headTooLarge(); // the block would be at least at + 1 > cap bytes
      const before = lf > 0 ? buf[lf - 1] : this.prevByte;
      const contentEnd = before === CR ? at - 1 : at;
      this.scanned = at + 1;
      this.scanOffset = lf + 1;
      if (contentEnd === this.lineStart) {
        this.headLength = at + 1;
        if (lf + 1 < buf.length) {
          this.bodyChunk = this.scanChunk;
          this.bodyOffset = lf + 1;
        } else {
          this.bodyChunk = this.scanChunk + 1;
          this.bodyOffset = 0;
        }
        return true;
      }
      // A header line (the first line is the command): count it now, not at the blank line.
      if (this.lines++ > this.maxHeaders) {
        this.fail('STOMP_ERR_TOO_MANY_HEADERS', `frame has more than maxHeaders (${this.maxHeaders}) header lines`);
      }
      this.lineStart = at + 1;
    }
    return false;
  }

  private headTooLarge(): never {
    if (this.headCap === this.maxHeaderBytes) {
      this.fail('STOMP_ERR_HEADER_TOO_LARGE', `header block exceeds maxHeaderBytes (${this.maxHeaderBytes} bytes)`);
    }
    this.fail('STOMP_ERR_FRAME_TOO_LARGE', `frame exceeds maxFrameBytes (${this.maxFrameBytes} bytes)`);
  }

  /** Decode the complete header block and decide how the body ends. */
  private parseHead(): void {
    const length = this.headLength;
    const first = this.chunks[0];
    let block: Buffer;
    let from: number;
    if (this.start + length <= first.length) {
      block = first;
      from = this.start;
    } else {
      block = this.gatherHead(length);
      from = 0;
    }
    const text = block.toString('utf8', from, from + length);
    if (text.indexOf('\uFFFD') !== -1 && !isUtf8(block.subarray(from, from + length))) {
      this.fail('STOMP_ERR_BAD_UTF8', 'command or header is not valid UTF-8');
    }
    if (text.indexOf('\0') !== -1) {
      // The grammar's header octets exclude only CR, LF and ':', but a NUL before the blank line
      // means a frame ended early (e.g. a header block without its blank line): reading on would
      // silently glue the next frame into this one's headers.
      this.fail('STOMP_ERR_BAD_FRAME', 'NUL octet in command or header block (missing blank line after headers?)');
    }
    // Every CR must be half of a CRLF (1.2 §"Augmented BNF": EOL = [CR] LF).
    for (let cr = text.indexOf('\r'); cr !== -1; cr = text.indexOf('\r', cr + 2)) {
      if (text.charCodeAt(cr + 1) !== LF) this.fail('STOMP_ERR_BAD_FRAME', 'CR not followed by LF in frame header');
    }

    let lf = text.indexOf('\n');
    this.command = text.slice(0, text.charCodeAt(lf - 1) === CR ? lf - 1 : lf);
    const headers: HeaderList = [];
    let escapes: number[] | null = null;
    let backslash = text.indexOf('\\', lf);
    let contentLength: string | undefined;
    let p = lf + 1;
    for (;;) {
      lf = text.indexOf('\n', p);
      const end = text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      if (end === p) break; // the blank line
      const colon = text.indexOf(':', p);
      if (colon === -1 || colon > end) {
        this.fail('STOMP_ERR_BAD_FRAME', `header line without ':' (${quote(text.slice(p, end))})`);
      }
      if (colon === p) this.fail('STOMP_ERR_BAD_FRAME', `header line with an empty name (${quote(text.slice(p, end))})`);
      const name = text.slice(p, colon);
      const value = text.slice(colon + 1, end);
      if (backslash !== -1 && backslash < end) {
        // Note which texts need unescaping, so the rest are never scanned again.
        if (escapes === null) escapes = [];
        if (backslash < colon) {
          escapes.push(headers.length * 2);
          backslash = text.indexOf('\\', colon);
        }
        if (backslash !== -1 && backslash < end) {
          escapes.push(headers.length * 2 + 1);
          backslash = text.indexOf('\\', end);
        }
      }
      // The raw name can only equal "content-length" if it holds no escape, in any version.
      if (contentLength === undefined && name === 'content-length') contentLength = value;
      headers.push([name, value]);
      p = lf + 1;
    }
    this.headers = headers;
    this.escapes = escapes;
    this.contentLength = -1;
    if (contentLength !== undefined) {
      const n = parseContentLength(contentLength, this.maxFrameBytes - length);
      if (n === -1) {
        this.fail('STOMP_ERR_BAD_CONTENT_LENGTH', `content-length must be ASCII digits only (got ${quote(contentLength)})`);
      }
      if (n === -2) {
        this.fail(
          'STOMP_ERR_FRAME_TOO_LARGE',
          `frame exceeds maxFrameBytes (${this.maxFrameBytes} bytes): content-length ${quote(contentLength)} after a ${length}-byte header block`,
        );
      }
      this.contentLength = n;
      this.state = BODY_LENGTH;
    } else {
      this.state = BODY_NUL;
      this.scanChunk = this.bodyChunk;
      this.scanOffset = this.bodyOffset;
      this.scanned = length;
    }
  }

  /** Copy the first `length` bytes of the buffered frame into the reusable scratch buffer. */
  private gatherHead(length: number): Buffer {
    if (this.scratch.length < length) {
      this.scratch = Buffer.allocUnsafe(Math.max(length, Math.min(this.scratch.length * 2, this.headCap)));
    }
    copyOut(this.chunks, 0, this.start, length, this.scratch);
    return this.scratch;
  }

  private takeBodyByLength(): boolean {
    const length = this.contentLength;
    const frameLength = this.headLength + length + 1;
    if (this.total < frameLength) return false;
    const chunks = this.chunks;
    let chunk = this.bodyChunk;
    let offset = this.bodyOffset;
    let body: Buffer;
    if (length === 0) {
      body = EMPTY_BODY;
    } else if (offset + length <= chunks[chunk].length) {
      body = chunks[chunk].subarray(offset, offset + length);
      offset += length;
    } else {
      body = Buffer.allocUnsafe(length);
      copyOut(chunks, chunk, offset, length, body);
      // Walk to the byte after the body.
      let left = length;
      while (left >= chunks[chunk].length - offset) {
        left -= chunks[chunk].length - offset;
        chunk++;
        offset = 0;
      }
      offset += left;
    }
    if (offset === chunks[chunk].length) {
      chunk++;
      offset = 0;
    }
    if (chunks[chunk][offset] !== 0) {
      this.fail('STOMP_ERR_BAD_FRAME', `frame not terminated by NUL after content-length (${length}) bytes`);
    }
    this.complete(body, frameLength);
    return true;
  }

  private takeBodyByNul(): boolean {
    const chunks = this.chunks;
    while (this.scanChunk < chunks.length) {
      const buf = chunks[this.scanChunk];
      const offset = this.scanOffset;
      const nul = buf.indexOf(0, offset);
      if (nul === -1) {
        this.scanned += buf.length - offset;
        this.scanChunk++;
        this.scanOffset = 0;
        if (this.scanned > this.maxFrameBytes) this.frameTooLarge();
        continue;
      }
      const end = this.scanned + (nul - offset); // frame bytes before the NUL
      if (end > this.maxFrameBytes) this.frameTooLarge();
      const length = end - this.headLength;
      let body: Buffer;
      if (length === 0) body = EMPTY_BODY;
      else if (this.scanChunk === this.bodyChunk) body = buf.subarray(this.bodyOffset, nul);
      else {
        body = Buffer.allocUnsafe(length);
        copyOut(chunks, this.bodyChunk, this.bodyOffset, length, body);
      }
      this.complete(body, end + 1);
      return true;
    }
    return false;
  }

  private frameTooLarge(): never {
    this.fail('STOMP_ERR_FRAME_TOO_LARGE', `frame exceeds maxFrameBytes (${this.maxFrameBytes} bytes)`);
  }

  private complete(body: Buffer, frameLength: number): void {
    const frame: Frame = { command: this.command, headers: this.headers, body };
    const escapes = this.escapes;
    this.headers = [];
    this.escapes = null;
    this.consume(frameLength);
    this.state = IDLE;
    if (this.isPaused) {
      this.ready = frame;
      this.readyEscapes = escapes;
    } else {
      this.emit(frame, escapes);
    }
  }

  private emit(frame: Frame, escapes: number[] | null): void {
    if (escapes !== null) {
      const version = this.version;
      if (version !== '1.0' && !isUnescapedCommand(frame.command)) {
        try {
          unescapeHeaders(frame.headers, escapes, version === '1.2');
        } catch (err) {
          this.failure = err as StompError;
          throw err;
        }
      }
    }
    this.handlers.frame(frame);
  }

  private consume(n: number): void {
    this.total -= n;
    const chunks = this.chunks;
    let start = this.start + n;
    while (chunks.length > 0 && start >= chunks[0].length) {
      start -= chunks[0].length;
      chunks.shift();
    }
    this.start = start;
  }

  private byteAt(n: number): number {
    const chunks = this.chunks;
    let i = 0;
    let at = this.start + n;
    while (at >= chunks[i].length) {
      at -= chunks[i].length;
      i++;
    }
    return chunks[i][at];
  }

  private fail(code: StompErrorCode, message: string): never {
    const err = new StompError(code, message);
    this.failure = err;
    throw err;
  }
}

function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(value >= 0)) throw new RangeError(`${name} must be a non-negative number (got ${value})`);
  return value;
}

/** -1: not all ASCII digits (or empty); -2: larger than `room`; else the length. */
function parseContentLength(text: string, room: number): number {
  if (text.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    if (n <= room) n = n * 10 + d; // stop growing once over the limit: no precision games
  }
  return n > room ? -2 : n;
}

/** Copy `length` bytes starting at chunks[chunk][offset] into `target` (from index 0). */
function copyOut(chunks: Buffer[], chunk: number, offset: number, length: number, target: Buffer): void {
  let written = 0;
  while (written < length) {
    const buf = chunks[chunk];
    const n = Math.min(buf.length - offset, length - written);
    buf.copy(target, written, offset, offset + n);
    written += n;
    chunk++;
    offset = 0;
  }
}

function unescapeHeaders(headers: HeaderList, escapes: number[], allowCR: boolean): void {
  for (let i = 0; i < escapes.length; i++) {
    const index = escapes[i] >> 1;
    const entry = headers[index];
    if ((escapes[i] & 1) === 0) {
      entry[0] = unescapeFrom(entry[0], entry[0].indexOf('\\'), allowCR, `header name ${quote(entry[0])}`);
    } else {
      entry[1] = unescapeFrom(entry[1], entry[1].indexOf('\\'), allowCR, `value of header ${quote(entry[0])}`);
    }
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > QUOTE_MAX ? text.slice(0, QUOTE_MAX) + '…' : text);
}
