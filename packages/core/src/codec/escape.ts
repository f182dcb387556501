/**
 * Header escaping, per protocol version.
 *
 * STOMP frames delimit headers with EOL and split name from value at ':', so those octets cannot
 * appear raw inside a header. The versions differ in how they cope:
 *
 * - STOMP 1.2 §"Value Encoding": `\r` `\n` `\c` `\\` stand for CR, LF, ':' and '\'. Any other
 *   escape "MUST be treated as a fatal protocol error".
 * - STOMP 1.1 §"Value Encoding": only `\n` `\c` `\\`; `\r` is named there as an undefined (so fatal)
 *   sequence. 1.1 has no CR escape at all (its EOL is a bare LF).
 * - STOMP 1.0: no escaping; a backslash is an ordinary character.
 * - CONNECT, STOMP and CONNECTED are never escaped in any version, "in order to remain backward
 *   compatible with STOMP 1.0" (the version is not negotiated yet when they travel).
 *
 * Invariants:
 * - `unescapeHeader(escapeHeader(s, v), v) === s` for 1.2 and any string without NUL, and for 1.1
 *   and any string without CR or NUL. The property tests hold this.
 * - Unescaping is a single left-to-right pass, so `\\n` (escaped backslash, then `n`) is a backslash
 *   followed by the letter n, never a line feed. Every escape character is ASCII and no UTF-8
 *   multi-byte sequence contains 0x5C, so working on decoded strings is the same as working on bytes.
 * - Text that cannot be represented is written as a space, because the frame must stay parseable:
 *   CR or LF where no escaping applies (1.0, CONNECT/CONNECTED), CR under 1.1, and NUL in every
 *   version (no version has an escape for it, and a receiver that ends frames at NUL, as our own
 *   decoder does inside a header block, would lose frame sync).
 */
import { StompError } from '../errors';
import type { StompVersion } from './versions';
import { isUnescapedCommand } from './commands';

const BACKSLASH = 92;
const COLON = 58;
const LF = 10;
const CR = 13;
const NUL = 0;

/** How the header text of one frame is (un)escaped. */
export type HeaderEscaping = 'none' | '1.1' | '1.2';

/** The escaping that applies to the headers of a `command` frame in a session speaking `version`. */
export function headerEscaping(command: string, version: StompVersion): HeaderEscaping {
  if (version === '1.0' || isUnescapedCommand(command)) return 'none';
  return version;
}

/** Escape one header name or value for the wire. */
export function escapeHeader(text: string, escaping: HeaderEscaping | StompVersion): string {
  if (escaping === '1.2') return escape12(text);
  if (escaping === '1.1') return escape11(text);
  return sanitizeUnescaped(text);
}

/**
 * Reverse {@link escapeHeader}. Throws STOMP_ERR_BAD_ESCAPE on an undefined escape sequence or a
 * trailing lone backslash (1.1 and 1.2). `what` names the text in the error message.
 */
export function unescapeHeader(text: string, escaping: HeaderEscaping | StompVersion, what = 'header'): string {
  if (escaping === '1.0' || escaping === 'none') return text;
  const first = text.indexOf('\\');
  if (first === -1) return text;
  return unescapeFrom(text, first, escaping === '1.2', what);
}

/**
 * Unescape `text`, whose first backslash is at `first` (the decoder's entry point: its scan already
 * knows which texts hold one, so texts without are never looked at again). `allowCR` is 1.2's `\r`.
 */
export function unescapeFrom(text: string, first: number, allowCR: boolean, what: string): string {
  let out = '';
  let segment = 0;
  let i = first;
  while (i !== -1) {
    if (i + 1 >= text.length) {
      throw new StompError('STOMP_ERR_BAD_ESCAPE', `${what} ends with a lone backslash`);
    }
    let replacement: string;
    switch (text.charCodeAt(i + 1)) {
      case 110: // n
        replacement = '\n';
        break;
      case 99: // c
        replacement = ':';
        break;
      case BACKSLASH:
        replacement = '\\';
        break;
      case 114: // r
        if (allowCR) {
          replacement = '\r';
          break;
        }
        throw new StompError(
          'STOMP_ERR_BAD_ESCAPE',
          `undefined escape sequence \\r in ${what} (STOMP 1.1 defines only \\n \\c \\\\)`,
        );
      default:
        throw new StompError(
          'STOMP_ERR_BAD_ESCAPE',
          `undefined escape sequence \\${showEscaped(text.charAt(i + 1))} in ${what} (STOMP ${allowCR ? '1.2 defines only \\r \\n \\c \\\\' : '1.1 defines only \\n \\c \\\\'})`,
        );
    }
    out += text.slice(segment, i) + replacement;
    segment = i + 2;
    i = text.indexOf('\\', segment);
  }
  return out + text.slice(segment);
}

function escape12(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= BACKSLASH && (c === BACKSLASH || c === COLON || c === LF || c === CR || c === NUL)) return escapeSlow(text, i, MODE_12);
  }
  return text;
}

function escape11(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= BACKSLASH && (c === BACKSLASH || c === COLON || c === LF || c === CR || c === NUL)) return escapeSlow(text, i, MODE_11);
  }
  return text;
}

function sanitizeUnescaped(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || c === CR || c === NUL) return escapeSlow(text, i, MODE_NONE);
  }
  return text;
}

const MODE_NONE = 0;
const MODE_11 = 1;
const MODE_12 = 2;

/** Builds the escaped text from the first special character on; the prefix is copied as is. */
function escapeSlow(text: string, from: number, mode: number): string {
  let out = text.slice(0, from);
  let segment = from;
  for (let i = from; i < text.length; i++) {
    let replacement: string;
    switch (text.charCodeAt(i)) {
      case BACKSLASH:
        if (mode === MODE_NONE) continue;
        replacement = '\\\\';
        break;
      case COLON:
        if (mode === MODE_NONE) continue;
        replacement = '\\c';
        break;
      case LF:
        replacement = mode === MODE_NONE ? ' ' : '\\n';
        break;
      case CR:
        // 1.1 has no escape for CR, and a raw CR would read as (half of) an EOL: see file comment.
        replacement = mode === MODE_12 ? '\\r' : ' ';
        break;
      case NUL:
        replacement = ' ';
        break;
      default:
        continue;
    }
    out += text.slice(segment, i) + replacement;
    segment = i + 1;
  }
  return out + text.slice(segment);
}

/** An escape character as the error message shows it: printable as is, control characters as \uXXXX. */
function showEscaped(ch: string): string {
  if (ch === '') return '';
  const code = ch.charCodeAt(0);
  if (code >= 0x20 && code !== 0x7f) return ch;
  return '\\u' + code.toString(16).padStart(4, '0');
}
