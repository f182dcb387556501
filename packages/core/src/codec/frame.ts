/**
 * The neutral in-memory shape of one STOMP frame.
 *
 * Headers are kept as an ordered list of `[name, value]` pairs so that repeated headers survive
 * decoding: STOMP 1.2 §"Repeated Header Entries" says only the first occurrence is used, but a
 * proxy or interceptor may still want to see the rest. Look-ups go through {@link header}, which
 * implements first-wins.
 */
export type HeaderList = Array<[name: string, value: string]>;

export interface Frame {
  command: string;
  headers: HeaderList;
  body: Buffer;
}

export const EMPTY_BODY: Buffer = Buffer.alloc(0);

/** The first value of header `name` (STOMP 1.2: the first of repeated headers wins). */
export function header(frame: { headers: HeaderList }, name: string): string | undefined {
  const headers = frame.headers;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i][0] === name) return headers[i][1];
  }
  return undefined;
}

export function frame(command: string, headers: HeaderList = [], body: Buffer = EMPTY_BODY): Frame {
  return { command, headers, body };
}

/**
 * Headers the server owns on a MESSAGE frame. A SEND's (or an application publish's) headers by
 * these names are never forwarded: the server writes its own, and `receipt`/`transaction` belong to
 * the sender's frame, not the message.
 */
export const SERVER_OWNED_HEADERS: ReadonlySet<string> = new Set([
  'destination',
  'message-id',
  'subscription',
  'ack',
  'content-length',
  'content-type',
  'receipt',
  'transaction',
  'redelivered',
]);

/**
 * `text` as a string of its own. The decoder cuts header values out of one string per header
 * block, and V8 keeps a cut of 13 characters or more as a view of that whole block: a value kept
 * for long (a subscription's destination and id) would hold the block alive. Short texts are
 * copies already; longer ones are copied exactly (JSON keeps every code unit, lone surrogates too).
 */
export function ownString(text: string): string {
  return text.length < 13 ? text : (JSON.parse(JSON.stringify(text)) as string);
}
