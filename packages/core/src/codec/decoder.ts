/**
 * Incremental STOMP frame decoder: bytes in, {@link Frame}s out, no I/O.
 *
 * Grammar (STOMP 1.2 §"Augmented BNF"):
 *
 *     frame = command EOL *( header EOL ) EOL *OCTET NULL *( EOL )      EOL = [CR] LF
 *
 * The decoder is a byte-level state machine over the list of received chunks (the idea of ws's
 * Receiver and nats.js's parser): chunks are kept as they arrived, positions are (chunk, offset)
 * pairs plus a count of bytes from the start of the current frame, and nothing is copied until a
 * frame is complete. States:
 *
 * - IDLE: between frames. Each EOL here is a heart-beat (1.2 §"Heart-beating"; the `*( EOL )`
 *   after NULL in the grammar is the same thing) and is reported once per EOL. A CR must be
 *   followed by LF. Any other octet starts a command line.
 * - HEAD: one resumable pass over the command line and header lines, every byte looked at once.
 *   Per line it notes the first ':' (names end there, values may hold more colons), whether name
 *   or value hold a backslash, where the line ends (a CR is allowed only right before LF), and
 *   whether any byte is non-ASCII. Line count and block size are checked as the scan goes, so an
 *   endless header block is refused as soon as it passes `maxHeaderBytes`, not when it ends.
 * - Once the blank line is found, the block (a view of the chunk, or a copy when it spans chunks:
 *   only strings come out of that copy, so the scratch buffer is reused) is decoded to strings.
 *   An ASCII block is decoded in ONE native call and command, names and values are cut from that
 *   string with the offsets the scan noted: one decode per frame instead of one per field. A block
 *   with other bytes must be UTF-8 (1.2 §"Value Encoding"), checked once with `isUtf8`, and its
 *   fields are decoded one by one (no multi-byte sequence can straddle ':' or EOL).
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
 *   the first ':'; repeated headers are kept in order; unknown commands are the session's business.
 * - A NUL inside the header block is refused. The grammar's header octets exclude only CR, LF and
 *   ':', but a NUL there means a frame ended early (a header block without its blank line) and
 *   reading on would glue the next frame into this one's headers. The encoder never writes one.
 * - Unescaping (escape.ts) depends on {@link Decoder.version} and happens when a frame is emitted,
 *   so a version negotiated in the frame callback, or while paused, applies to the very next frame.
 *   Only texts the scan saw a backslash in are looked at again.
 * - While paused the decoder still scans ahead, up to the end of the next frame, emitting nothing:
 *   limits and framing errors stay enforced on what can be known; heart-beats are counted and
 *   reported on resume, in order.
 * - Errors are fatal: the first StompError is kept and rethrown by every later push/resume. An
 *   exception thrown by a handler is the caller's: it propagates and the decoder stays usable.
 */
import { isUtf8 } from 'node:buffer';
import { StompError, type StompErrorCode } from '../errors';
import { EMPTY_BODY, type Frame, type HeaderList } from './frame';
import { isUnescapedCommand } from './commands';
import { unescapeFrom } from './escape';
import type { StompVersion } from './versions';


/** Placeholder between frames; never mutated (each frame's head parse builds a new list). */
const NO_HEADERS: HeaderList = [];
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

/** Line flags: a backslash in the name / in the value. */
const ESC_NAME = 1;
const ESC_VALUE = 2;

const IDLE = 0;
const HEAD = 1;
const BODY_LENGTH = 2;
const BODY_NUL = 3;

/**
 * Buffer's own slice-to-string methods, which `toString(encoding, start, end)` dispatches to after
 * an encoding look-up. Present on every Node Buffer; called directly on the per-frame path.
 */
interface FastSlices extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** Longest piece of offending input quoted back in an error message. */
const QUOTE_MAX = 40;

export class Decoder {
  /**
   * Governs unescaping of header values of frames emitted from now on (CONNECT/STOMP/CONNECTED are
   * never unescaped). Default '1.2'. May be changed from inside the frame callback; the next frame
   * in the same chunk then uses the new version.
   */
  version: StompVersion = '1.2';

  private handlers: DecoderHandlers;
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
  /** First ':' of the current line, from the frame start; -1 until seen. */
  private colon = -1;
  private lineFlags = 0;
  /** Header lines recorded so far (the command line is not one). */
  private lines = 0;
  private commandEnd = -1;
  private nonAscii = false;
  /** Per header line: start, colon, end (EOL excluded), escape flags; positions from the frame start. */
  private marks = new Int32Array(64);
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

  /**
   * True between frames with nothing buffered, nothing held back, not paused, not failed and not
   * inside a push: the decoder then carries no state of its stream and may serve another one
   * (see {@link Decoder.rebind}).
   */
  get idle(): boolean {
    return (
      this.total === 0 &&
      this.state === IDLE &&
      !this.isPaused &&
      !this.running &&
      this.ready === null &&
      this.pendingHeartbeats === 0 &&
      this.failure === null
    );
  }

  /**
   * Hands an idle decoder to another stream: frames go to `handlers` from now on, with header
   * values unescaped per `version`. Lets a server keep decoders only for the connections that are
   * in the middle of a frame (an idle connection needs none). Throws when not idle.
   */
  rebind(handlers: DecoderHandlers, version: StompVersion): void {
    if (!this.idle) throw new Error('Decoder.rebind: the decoder is not idle');
    this.handlers = handlers;
    this.version = version;
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
          if (!this.advance()) return;
          continue;
        }
        default:
          if (!this.advance()) return;
          continue;
      }
    }
  }

  /** Carry the current frame as far as the buffered bytes go; true once it is complete. */
  private advance(): boolean {
    if (this.state === HEAD) {
      if (!this.scanHead()) return false;
      this.parseHead();
    }
    return this.state === BODY_LENGTH ? this.takeBodyByLength() : this.takeBodyByNul();
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
    this.colon = -1;
    this.lineFlags = 0;
    this.lines = 0;
    this.commandEnd = -1;
    this.nonAscii = false;
    this.prevByte = 0;
  }

  /**
   * Advance the HEAD scan over what is buffered, one pass, every byte once. Returns true once the
   * blank line is found (`headLength`, line marks and body position set), false when more bytes
   * are needed. Per line it records where the first ':' is and whether name or value hold a
   * backslash, so parseHead never searches the text again.
   */
  private scanHead(): boolean {
    const chunks = this.chunks;
    while (this.scanChunk < chunks.length) {
      const buf = chunks[this.scanChunk];
      const offset = this.scanOffset;
      const delta = this.scanned - offset; // position from the frame start = index + delta
      // The head may take at most headCap bytes; stop there and complain if more is buffered.
      const end = Math.min(buf.length, offset + (this.headCap - this.scanned));
      if (offset === 0 && this.prevByte === CR && end > 0 && buf[0] !== LF) this.crWithoutLf();
      let lineStart = this.lineStart;
      let colon = this.colon;
      let flags = this.lineFlags;
      let nonAscii = false;
      for (let i = offset; i < end; i++) {
        const c = buf[i];
        // Ordered by frequency: lower-case letters, then upper-case and punctuation, then the rest.
        if (c > 92) {
          if (c > 127) nonAscii = true;
          continue;
        }
        if (c > 58) {
          if (c === 92) flags |= colon < 0 ? ESC_NAME : ESC_VALUE;
          continue;
        }
        if (c === 58) {
          if (colon < 0) colon = i + delta;
          continue;
        }
        if (c === LF) {
          const at = i + delta;
          const contentEnd = (i > 0 ? buf[i - 1] : this.prevByte) === CR ? at - 1 : at;
          if (contentEnd === lineStart) {
            // The blank line: the header block is complete.
            if (nonAscii) this.nonAscii = true;
            this.headLength = at + 1;
            if (i + 1 < buf.length) {
              this.bodyChunk = this.scanChunk;
              this.bodyOffset = i + 1;
            } else {
              this.bodyChunk = this.scanChunk + 1;
              this.bodyOffset = 0;
            }
            return true;
          }
          if (this.commandEnd < 0) this.commandEnd = contentEnd;
          else this.markHeader(lineStart, colon, contentEnd, flags);
          lineStart = at + 1;
          colon = -1;
          flags = 0;
          continue;
        }
        if (c === CR) {
          // Must be the CR of a CRLF; at the chunk end the next chunk's first byte is checked.
          if (i + 1 < buf.length && buf[i + 1] !== LF) this.crWithoutLf();
          continue;
        }
        if (c === 0) {
          // See the file comment: a NUL before the blank line means a frame ended early.
          if (i + delta === 0) this.fail('STOMP_ERR_BAD_FRAME', 'NUL octet where a command was expected');
          this.fail('STOMP_ERR_BAD_FRAME', 'NUL octet in command or header block (missing blank line after headers?)');
        }
      }
      this.lineStart = lineStart;
      this.colon = colon;
      this.lineFlags = flags;
      if (nonAscii) this.nonAscii = true;
      this.scanned += end - offset;
      if (end < buf.length) this.headTooLarge();
      this.prevByte = buf[end - 1];
      this.scanChunk++;
      this.scanOffset = 0;
    }
    return false;
  }

  /** Record one header line; positions are from the frame start. */
  private markHeader(start: number, colon: number, end: number, flags: number): void {
    if (colon < 0) this.fail('STOMP_ERR_BAD_FRAME', `header line without ':' (${quote(this.textAt(start, end))})`);
    if (colon === start) this.fail('STOMP_ERR_BAD_FRAME', `header line with an empty name (${quote(this.textAt(start, end))})`);
    if (this.lines === this.maxHeaders) {
      this.fail('STOMP_ERR_TOO_MANY_HEADERS', `frame has more than maxHeaders (${this.maxHeaders}) header lines`);
    }
    let m = this.lines * 4;
    if (m + 4 > this.marks.length) {
      const grown = new Int32Array(this.marks.length * 2);
      grown.set(this.marks);
      this.marks = grown;
    }
    const marks = this.marks;
    marks[m++] = start;
    marks[m++] = colon;
    marks[m++] = end;
    marks[m] = flags;
    this.lines++;
  }

  private crWithoutLf(): never {
    this.fail('STOMP_ERR_BAD_FRAME', 'CR not followed by LF in frame header');
  }

  private headTooLarge(): never {
    if (this.headCap === this.maxHeaderBytes) {
      this.fail('STOMP_ERR_HEADER_TOO_LARGE', `header block exceeds maxHeaderBytes (${this.maxHeaderBytes} bytes)`);
    }
    this.fail('STOMP_ERR_FRAME_TOO_LARGE', `frame exceeds maxFrameBytes (${this.maxFrameBytes} bytes)`);
  }

  /** Cut command, names and values out of the complete header block; decide how the body ends. */
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
    const marks = this.marks;
    const count = this.lines;
    const headers: HeaderList = [];
    let escapes: number[] | null = null;
    let contentLength: string | undefined;
    if (!this.nonAscii) {
      // ASCII (the usual case): decode the block once; byte offsets are string offsets.
      const text = (block as FastSlices).latin1Slice(from, from + length);
      this.command = text.slice(0, this.commandEnd);
      for (let h = 0, m = 0; h < count; h++, m += 4) {
        const name = text.slice(marks[m], marks[m + 1]);
        const value = text.slice(marks[m + 1] + 1, marks[m + 2]);
        headers.push([name, value]);
        if (marks[m + 3] !== 0) escapes = noteEscapes(escapes, h, marks[m + 3]);
        // A raw name equals "content-length" only when it holds no escape, in every version.
        if (contentLength === undefined && name === 'content-length') contentLength = value;
      }
    } else {
      // 1.2 §"Value Encoding": commands and headers are UTF-8. Fields are decoded one by one:
      // ':' and EOL are ASCII, so no multi-byte sequence straddles a field boundary.
      if (!isUtf8(block.subarray(from, from + length))) this.fail('STOMP_ERR_BAD_UTF8', 'command or header is not valid UTF-8');
      this.command = block.toString('utf8', from, from + this.commandEnd);
      for (let h = 0, m = 0; h < count; h++, m += 4) {
        const name = block.toString('utf8', from + marks[m], from + marks[m + 1]);
        const value = block.toString('utf8', from + marks[m + 1] + 1, from + marks[m + 2]);
        headers.push([name, value]);
        if (marks[m + 3] !== 0) escapes = noteEscapes(escapes, h, marks[m + 3]);
        if (contentLength === undefined && name === 'content-length') contentLength = value;
      }
    }
    this.headers = headers;
    this.escapes = escapes;
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
      this.contentLength = -1;
      this.state = BODY_NUL;
      this.scanChunk = this.bodyChunk;
      this.scanOffset = this.bodyOffset;
      this.scanned = length;
    }
  }

  /** Text of buffered bytes [start, end) from the frame start, for error messages only. */
  private textAt(start: number, end: number): string {
    const bytes = Buffer.allocUnsafe(end - start);
    let chunk = 0;
    let offset = this.start + start;
    while (offset >= this.chunks[chunk].length) {
      offset -= this.chunks[chunk].length;
      chunk++;
    }
    copyOut(this.chunks, chunk, offset, end - start, bytes);
    return bytes.toString('utf8');
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
    // Let go of the emitted frame's headers: an idle connection should not keep its last frame alive.
    this.headers = NO_HEADERS;
    const escapes = this.escapes;
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
    let drop = 0;
    while (drop < chunks.length && start >= chunks[drop].length) {
      start -= chunks[drop].length;
      drop++;
    }
    // One splice per frame, not one shift per chunk: a frame fed byte by byte spans a chunk per byte.
    if (drop === chunks.length) chunks.length = 0;
    else if (drop === 1) chunks.shift();
    else if (drop > 1) chunks.splice(0, drop);
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

function noteEscapes(escapes: number[] | null, header: number, flags: number): number[] {
  const list = escapes ?? [];
  if ((flags & ESC_NAME) !== 0) list.push(header * 2);
  if ((flags & ESC_VALUE) !== 0) list.push(header * 2 + 1);
  return list;
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
