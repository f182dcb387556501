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
