/**
 * STOMP commands as data, one row per command (the way Spring's StompCommand does it), read by a
 * single validator in the session layer. Sources: STOMP 1.2 §"Client Frames" / §"Server Frames",
 * with the 1.0/1.1 differences noted per column.
 */
export const CLIENT_COMMANDS = {
  CONNECT: { body: false, required: [] },
  STOMP: { body: false, required: [] },
  SEND: { body: true, required: ['destination'] },
  SUBSCRIBE: { body: false, required: ['destination'], required11: ['id'] },
  UNSUBSCRIBE: { body: false, required: [], required11: ['id'] },
  ACK: { body: false, required: [], required11: [] },
  NACK: { body: false, required: [] },
  BEGIN: { body: false, required: ['transaction'] },
  COMMIT: { body: false, required: ['transaction'] },
  ABORT: { body: false, required: ['transaction'] },
  DISCONNECT: { body: false, required: [] },
} as const satisfies Record<string, { body: boolean; required: readonly string[]; required11?: readonly string[] }>;

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
