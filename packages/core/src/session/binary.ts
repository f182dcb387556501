/**
 * Whether a MESSAGE must travel as a binary WebSocket message: its body is not valid UTF-8 (a text
 * message must be, RFC 6455 §5.6) or its content-type says octet-stream, as Spring does. Decided
 * once per published message, however many sessions it fans out to.
 */
import { isUtf8 } from 'node:buffer';
import type { BrokerMessage } from '../broker/types';

const cache = new WeakMap<BrokerMessage, boolean>();

export function isBinaryMessage(message: BrokerMessage): boolean {
  let binary = cache.get(message);
  if (binary === undefined) {
    const type = message.contentType;
    binary =
      (type !== undefined && type.toLowerCase().startsWith('application/octet-stream')) ||
      (message.body.length > 0 && !isUtf8(message.body));
    cache.set(message, binary);
  }
  return binary;
}
