/** STOMP protocol versions this library speaks, newest first (the negotiation preference order). */
export const SUPPORTED_VERSIONS = ['1.2', '1.1', '1.0'] as const;
export type StompVersion = (typeof SUPPORTED_VERSIONS)[number];

/** WebSocket sub-protocol names, as offered by stomp.js and Spring (`v12.stomp`, ...). */
export const WS_SUBPROTOCOLS: Record<string, StompVersion> = {
  'v12.stomp': '1.2',
  'v11.stomp': '1.1',
  'v10.stomp': '1.0',
};
