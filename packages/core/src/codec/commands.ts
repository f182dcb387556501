/**
 * STOMP commands as data, one row per command (the way Spring's StompCommand does it), read by a
 * single validator in the session layer. Sources: STOMP 1.2 §"Client Frames" / §"Server Frames";
 * the per-version header lists follow each version's spec (1.0 has no subscription `id`, 1.1 acks
 * by `message-id` + `subscription`, 1.2 by `id`).
 */
import type { StompVersion } from './versions';

type Required = Readonly<Record<StompVersion, readonly string[]>>;

const same = (...names: string[]): Required => ({ '1.0': names, '1.1': names, '1.2': names });

export const CLIENT_COMMANDS = {
  CONNECT: { body: false, since: '1.0', required: same() },
  STOMP: { body: false, since: '1.0', required: same() },
  SEND: { body: true, since: '1.0', required: same('destination') },
  SUBSCRIBE: { body: false, since: '1.0', required: { '1.0': ['destination'], '1.1': ['destination', 'id'], '1.2': ['destination', 'id'] } },
  UNSUBSCRIBE: { body: false, since: '1.0', required: { '1.0': [], '1.1': ['id'], '1.2': ['id'] } },
  ACK: { body: false, since: '1.0', required: { '1.0': ['message-id'], '1.1': ['message-id', 'subscription'], '1.2': ['id'] } },
  NACK: { body: false, since: '1.1', required: { '1.0': [], '1.1': ['message-id', 'subscription'], '1.2': ['id'] } },
  BEGIN: { body: false, since: '1.0', required: same('transaction') },
  COMMIT: { body: false, since: '1.0', required: same('transaction') },
  ABORT: { body: false, since: '1.0', required: same('transaction') },
  DISCONNECT: { body: false, since: '1.0', required: same() },
} as const satisfies Record<string, { body: boolean; since: StompVersion; required: Required }>;

export type ClientCommand = keyof typeof CLIENT_COMMANDS;

export const SERVER_COMMANDS = ['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR'] as const;
export type ServerCommand = (typeof SERVER_COMMANDS)[number];

export function isClientCommand(command: string): command is ClientCommand {
  return Object.prototype.hasOwnProperty.call(CLIENT_COMMANDS, command);
}

/**
 * Frames whose headers are never escaped or unescaped (STOMP 1.2 §"Value Encoding": "CONNECT and
 * CONNECTED frames do not escape").
 */
export function isUnescapedCommand(command: string): boolean {
  return command === 'CONNECT' || command === 'CONNECTED' || command === 'STOMP';
}
