/**
 * Whether a MESSAGE must travel as a binary WebSocket message: its body is not valid UTF-8 (a text
 * message must be, RFC 6455 §5.6) or its content-type says octet-stream, as Spring does. Decided
 * once per published message, however many sessions it fans out to.
 */
import { isUtf8 } from 'node:buffer';
import type { BrokerMessage } from '../broker/types';

/** The last message asked about: a publish is fanned out to all its recipients in a row. */
let lastMessage: BrokerMessage | undefined;
let lastBinary = false;

export function isBinaryMessage(message: BrokerMessage): boolean {
  if (message === lastMessage) return lastBinary;
  const type = message.contentType;
  lastBinary =
    (type !== undefined && type.toLowerCase().startsWith('application/octet-stream')) ||
    (message.body.length > 0 && !isUtf8(message.body));
  lastMessage = message;
  return lastBinary;
}

/** The header that marks a body sent base64-encoded over a text-only transport. */
export const TRANSFER_ENCODING_HEADER = 'content-transfer-encoding';

let lastOriginal: BrokerMessage | undefined;
let lastText: BrokerMessage | undefined;

/**
 * The message as a text-only transport (SockJS) can carry it. A body that is valid UTF-8 travels
 * as is (an octet-stream content-type alone does not make it untransportable). Any other body is
 * base64-encoded and the frame gets `content-transfer-encoding:base64`; content-type and every
 * other header are kept, `content-length` counts the base64 text. Never silently corrupted, and
 * derived once per published message, however many text-only sessions receive it.
 */
export function asTextMessage(message: BrokerMessage): BrokerMessage {
  if (message.body.length === 0 || isUtf8(message.body)) return message;
  if (message === lastOriginal) return lastText!;
  lastOriginal = message;
  lastText = {
    ...message,
    body: Buffer.from(message.body.toString('base64'), 'latin1'),
    // Ours replaces any the publisher set: the header must describe this body.
    headers: [...message.headers.filter((h) => h[0] !== TRANSFER_ENCODING_HEADER), [TRANSFER_ENCODING_HEADER, 'base64']],
  };
  return lastText;
}
