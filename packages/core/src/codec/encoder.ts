/**
 * Frame serialization. The inverse of the {@link Decoder}: anything encoded here for a version
 * decodes back, under the same version, to the same command, headers and body.
 *
 * - Header names and values are escaped per version (see escape.ts; STOMP 1.2 §"Value Encoding").
 * - `content-length` is written by the encoder, in bytes of the body (1.2 §"Header
 *   content-length"), for SEND, MESSAGE and ERROR and for any other frame that has a body; a
 *   caller-supplied one is dropped so it can never disagree with the body. A body may therefore
 *   hold NUL octets.
 * - {@link encodeMessage} splits a MESSAGE in two: a small per-recipient head and a shared part
 *   (the message's own headers and body) serialized once per message and version, then reused for
 *   every subscriber ("encode once, fan out").
 */
import { SERVER_OWNED_HEADERS, type Frame, type HeaderList } from './frame';
import { escapeHeader, headerEscaping, type HeaderEscaping } from './escape';
import type { StompVersion } from './versions';

/** A heart-beat: one EOL (STOMP 1.2 §"Heart-beating"). */
export const HEARTBEAT: Buffer = Buffer.from('\n');

/** Structural, so the broker's BrokerMessage fits without the codec importing the broker. */
export interface OutgoingMessage {
  readonly id: string;
  readonly destination: string;
  readonly headers: HeaderList;
  readonly body: Buffer;
  readonly contentType?: string;
}


/**
 * Serialize any frame for a session speaking `version`. Escapes header names/values per version
 * (1.2: \\ \n \r :; 1.1: \\ \n :, a CR becomes a space since 1.1 cannot carry it; 1.0: none, but
 * CR/LF become a space so the frame stays parseable; CONNECT/CONNECTED/STOMP never escaped). For
 * SEND, MESSAGE and ERROR (and any frame with a non-empty body) writes its own content-length and
 * drops any caller-supplied one. Body written verbatim, then NUL.
 */
export function encodeFrame(frame: Frame, version: StompVersion): Buffer {
  const command = frame.command;
  const escaping = headerEscaping(command, version);
  const body = frame.body;
  let head = command + '\n' + headerLines(frame.headers, escaping, null);
  if (body.length > 0 || command === 'SEND' || command === 'MESSAGE' || command === 'ERROR') {
    head += 'content-length:' + body.length + '\n';
  }
  return assemble(head + '\n', body);
}

/**
 * The shared part of the last message encoded, by version (1.2, 1.1, 1.0). A publish is fanned out
 * to all its recipients before the next one starts, so remembering one message is enough; a
 * WeakMap entry per message cost measurably more CPU and kept GC busier (more RSS) for nothing.
 * Encoding any other message in between only means recomputing, never a wrong frame.
 */
let lastMessage: OutgoingMessage | undefined;
let lastShared: Array<Buffer | [Buffer, Buffer] | undefined> = [undefined, undefined, undefined];

/**
 * Fan-out encoding of a MESSAGE frame. Returns [head, shared] (see below for large bodies):
 *   head   = "MESSAGE\nsubscription:<sub>\n" + ("ack:<ackId>\n" if ackId) + ("redelivered:true\n" if redelivered)
 *   shared = "message-id:<id>\ndestination:<dest>\n" + ("content-type:<ct>\n" if set)
 *            + "content-length:<n>\n" + user headers + "\n" + body + "\0"
 * `shared` is computed once per (message object, version) and remembered for the message being
 * fanned out (the message is never touched), so a publish to 1,000 subscribers encodes headers once per version. A body over
 * 4 KiB is not copied at all: the result is then [head, shared headers, body, NUL], the body by
 * reference. Concatenated, the parts are always one valid MESSAGE frame. Every value is escaped per
 * version, subscription and ack ids included.
 */
export function encodeMessage(
  msg: OutgoingMessage,
  version: StompVersion,
  subscriptionId: string,
  ackId: string | undefined,
  redelivered: boolean,
): Buffer[] {
  const escaping = headerEscaping('MESSAGE', version);
  let head = 'MESSAGE\nsubscription:' + escapeHeader(subscriptionId, escaping) + '\n';
  if (ackId !== undefined) head += 'ack:' + escapeHeader(ackId, escaping) + '\n';
  if (redelivered) head += 'redelivered:true\n';
  const shared = sharedPart(msg, version, escaping);
  const headBuffer = Buffer.from(head, 'utf8');
  return Array.isArray(shared) ? [headBuffer, shared[0], shared[1], NUL] : [headBuffer, shared];
}

/**
 * Bodies larger than this are not copied into the shared part: it becomes [headers, body, NUL] with
 * the body by reference, so a large message costs no copy at all, however many receive it.
 */
const BODY_COPY_LIMIT = 4 * 1024;
const NUL = Buffer.from([0]);

function sharedPart(msg: OutgoingMessage, version: StompVersion, escaping: HeaderEscaping): Buffer | [Buffer, Buffer] {
  const slot = version === '1.2' ? 0 : version === '1.1' ? 1 : 2;
  if (msg !== lastMessage) {
    lastMessage = msg;
    lastShared = [undefined, undefined, undefined];
  }
  const parts = lastShared;
  const cached = parts[slot];
  if (cached !== undefined) return cached;
  let head = 'message-id:' + escapeHeader(msg.id, escaping) + '\ndestination:' + escapeHeader(msg.destination, escaping) + '\n';
  if (msg.contentType !== undefined) head += 'content-type:' + escapeHeader(msg.contentType, escaping) + '\n';
  head += 'content-length:' + msg.body.length + '\n' + headerLines(msg.headers, escaping, SERVER_OWNED_HEADERS) + '\n';
  const shared: Buffer | [Buffer, Buffer] = msg.body.length > BODY_COPY_LIMIT ? [Buffer.from(head, 'utf8'), msg.body] : assemble(head, msg.body);
  parts[slot] = shared;
  return shared;
}

/** "name:value\n" for each header, escaped; `content-length` and `skip` names left out. */
function headerLines(headers: HeaderList, escaping: HeaderEscaping, skip: ReadonlySet<string> | null): string {
  let lines = '';
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i][0];
    if (name === 'content-length' || (skip !== null && skip.has(name))) continue;
    // Without escaping (STOMP 1.0, CONNECT/CONNECTED) a ':' in a name cannot be written: the peer
    // would split the line there. Such a header (only creatable by a 1.1+ sender's `\c`) is left out.
    if (escaping === 'none' && name.includes(':')) continue;
    lines += escapeHeader(name, escaping) + ':' + escapeHeader(headers[i][1], escaping) + '\n';
  }
  return lines;
}

/** One allocation: head text, body, NUL. */
function assemble(head: string, body: Buffer): Buffer {
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.length + 1);
  out.write(head, 0, headLength, 'utf8');
  if (body.length > 0) body.copy(out, headLength);
  out[headLength + body.length] = 0;
  return out;
}
