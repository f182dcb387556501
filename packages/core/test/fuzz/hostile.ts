/**
 * Hostile STOMP input for the fuzz suite (hostile-frames.test.ts), of three kinds:
 *
 * - legal but hostile frames (fast-check, {@link legalUnit}): random header names and unicode
 *   values, legal escapes, ':' in values, repeated headers, values of KiBs, bodies with NULs behind
 *   an exact content-length, wildcard and selector subscriptions, transactions left open. Most
 *   frames are of this kind: every fatal frame ends its session (STOMP 1.2: ERROR, then close),
 *   and a run of nothing but fatal frames would measure WebSocket handshakes, not the parser;
 * - wild frames (fast-check, {@link wildFrame}), written byte by byte, never through the library's
 *   encoder: real and made-up commands, missing, duplicated and huge headers, illegal escapes,
 *   wrong / garbage / huge `content-length`, bodies with NULs, random bytes, CRLF, heart-beat EOLs;
 * - mutants: a byte-level mutator ({@link mutate}) over a corpus of valid frames and over legal
 *   frames: flip a bit, overwrite, insert, delete or duplicate a range, insert a framing byte
 *   (NUL, LF, CR, ':', '\'), truncate, splice two frames.
 *
 * A session's plan is a pure function of (seed, worker, session index) ({@link planFor}): fast-check
 * samples with an explicit seed per block of sessions, picked and mutated by {@link mulberry32}
 * seeded from the same numbers, so a failing session can be regenerated from the printed seed.
 *
 * Destinations are kept away from the well-behaved session's ('/topic/good…', '/queue/good…'):
 * hostile sessions may subscribe to wildcards over topics (copies only), but never compete for the
 * good queue.
 */
import fc from 'fast-check';
import { mulberry32 } from '../helpers/random';

const LF = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');
const NUL = Buffer.from([0]);

const CLIENT_COMMANDS = ['SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT'] as const;

/** Destinations hostile frames use: broker, wildcard, application, user, foreign and broken ones. */
const DESTINATIONS = [
  '/topic/fuzz/a',
  '/topic/fuzz/b',
  '/topic/fuzz/a/b',
  '/topic/fuzz/*',
  '/topic/fuzz/**',
  '/topic/**',
  '/topic/*',
  '/queue/fuzz-1',
  '/queue/fuzz-2',
  '/queue/fuzz-*',
  '/queue/**',
  '/app/echo',
  '/app/x/y',
  '/user/queue/errors',
  '/user/queue/fuzz',
  '/user/someone/queue/fuzz',
  '/topic/fuzz-user123',
  '/queue/fuzz-user0',
  '/elsewhere',
  '',
  '/',
  '/topic',
  '/topic/',
  '//topic//fuzz',
  '/topic/fuzz/\u00e9\u{1F600}',
  '/topic/fuzz/a:b',
] as const;

const SELECTORS = [
  "type = 'x'",
  'priority > 5 AND',
  "a IN ('x', 'y') OR b IS NULL",
  "name LIKE 'a%' ESCAPE '\\'",
  '((((((((((a = 1))))))))))',
  '('.repeat(2000) + 'a = 1' + ')'.repeat(2000),
  'NOT '.repeat(3000) + 'a = 1',
  "a = 'unterminated",
  '1 / 0 = 1',
  'a BETWEEN 1 AND',
  '',
] as const;

/**
 * Any one code point, weighted towards the interesting ranges: control characters, Latin-1,
 * the rest of the BMP, astral planes, and lone surrogates (written as U+FFFD by Buffer.from).
 * (fast-check's 'binary' and 'grapheme' units do the same but index all 1.1M code points for
 * shrinking each time a string arbitrary is built, which costs 200 ms apiece.)
 */
const anyChar: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }) },
    { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 2, arbitrary: fc.integer({ min: 0x100, max: 0xffff }) },
    { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }) },
  )
  .map((code) => String.fromCodePoint(code));

const valueArbitraries = new Map<string, fc.Arbitrary<string>>();

/** A header value from the domain the header name suggests, or anything (built once per name). */
function valueFor(name: string): fc.Arbitrary<string> {
  let arbitrary = valueArbitraries.get(name);
  if (arbitrary === undefined) valueArbitraries.set(name, (arbitrary = buildValue(name)));
  return arbitrary;
}

function buildValue(name: string): fc.Arbitrary<string> {
  switch (name) {
    case 'destination':
      return fc.constantFrom(...DESTINATIONS);
    case 'id':
    case 'subscription':
    case 'message-id':
      return fc.oneof(fc.constantFrom('0', '1', '2', 's', ''), fc.string({ maxLength: 8 }));
    case 'ack':
      return fc.constantFrom('auto', 'client', 'client-individual', 'sometimes', '', 'AUTO');
    case 'transaction':
      return fc.constantFrom('t0', 't1', 't2', '');
    case 'prefetch-count':
      return fc.constantFrom('0', '1', '10', '-1', 'abc', '999999999999', '1.5', '');
    case 'selector':
      return fc.constantFrom(...SELECTORS);
    case 'heart-beat':
      return fc.constantFrom('0,0', '1,1', '10,10', '50,50', 'x', '1000000000,1', '5,', ',5', '-1,-1');
    case 'accept-version':
      return fc.constantFrom('1.2', '1.0', '1.1', '1.0,1.1,1.2', '2.0', '', '1.2,', ' 1.2');
    case 'content-type':
      return fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'text/plain;charset=utf-8', '');
    default:
      return anyValue;
  }
}

/** Escape sequences, legal (\r \n \c \\) and not (\t, \x, a trailing backslash). */
const escapes = fc.constantFrom('\\n', '\\r', '\\c', '\\\\', '\\t', '\\x', '\\', '\\0', '\\ ');
const anyValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 3, arbitrary: fc.string({ unit: anyChar, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.array(fc.oneof(escapes, fc.string({ maxLength: 3 })), { maxLength: 5 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.constantFrom(':', '::', 'a:b', ' padded ', '\u00e9', '\u{1F600}', '\ud800') },
  // Huge: some fit the 8 KiB header limit of the fuzz server, some do not.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', 'ab', '\u00e9'), fc.integer({ min: 500, max: 12_000 })).map(([s, n]) => s.repeat(n)) },
);

const KNOWN_NAMES = [
  'destination',
  'id',
  'ack',
  'receipt',
  'transaction',
  'content-type',
  'subscription',
  'message-id',
  'prefetch-count',
  'selector',
  'heart-beat',
  'accept-version',
  'host',
  'login',
  'content-length',
] as const;

const headerName: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KNOWN_NAMES) },
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'x\\cy', 'bad\\t', '\u00fcml', 'a b', 'Destination', 'DESTINATION') },
);

const header: fc.Arbitrary<[string, string]> = headerName.chain((name) => valueFor(name).map((value): [string, string] => [name, value]));

const requiredArbitraries = new Map<string, fc.Arbitrary<Array<[string, string]>>>();

/** Headers a command needs to get past validation, with random values; dropped now and then. */
function requiredHeaders(command: string): fc.Arbitrary<Array<[string, string]>> {
  let arbitrary = requiredArbitraries.get(command);
  if (arbitrary === undefined) requiredArbitraries.set(command, (arbitrary = buildRequired(command)));
  return arbitrary;
}

function buildRequired(command: string): fc.Arbitrary<Array<[string, string]>> {
  const names: string[] =
    command === 'SEND'
      ? ['destination']
      : command === 'SUBSCRIBE'
        ? ['destination', 'id', 'ack']
        : command === 'UNSUBSCRIBE'
          ? ['id']
          : command === 'ACK' || command === 'NACK'
            ? ['id']
            : command === 'BEGIN' || command === 'COMMIT' || command === 'ABORT'
              ? ['transaction']
              : [];
  if (names.length === 0) return fc.constant([]);
  return fc.tuple(...names.map((n) => fc.tuple(fc.boolean(), fc.boolean(), valueFor(n)))).map((picks) => {
    const out: Array<[string, string]> = [];
    picks.forEach(([keep, twice, value], i) => {
      // Keep the required header 7 times out of 8 (fc.boolean() twice), duplicate it sometimes.
      if (keep || twice) out.push([names[i], value]);
      if (keep && twice) out.push([names[i], value + '-dup']);
    });
    return out;
  });
}

const command: fc.Arbitrary<string> = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...CLIENT_COMMANDS) },
  { weight: 1, arbitrary: fc.constantFrom('CONNECT', 'STOMP') },
  { weight: 2, arbitrary: fc.constantFrom('send', 'Send', ' SEND', 'SEND ', 'CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR', 'SEND\r', 'S\u00c9ND') },
  { weight: 2, arbitrary: fc.string({ unit: anyChar, minLength: 1, maxLength: 10 }) },
);

const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 4, arbitrary: fc.string({ unit: anyChar, maxLength: 40 }).map((s) => Buffer.from(s)) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom('{"n": 12345678901234567890 , "x":[1, 2]}', '{"broken":', 'line1\n\nline2', '\0\0\0').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 70_000 }).map((n) => Buffer.alloc(n, 0x61)) },
);

/** How the body is delimited: no content-length, the right one, or a lie. */
const lengthMode = fc.oneof(
  { weight: 6, arbitrary: fc.constant<LengthMode>({ kind: 'none' }) },
  { weight: 6, arbitrary: fc.constant<LengthMode>({ kind: 'exact' }) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }).map((delta): LengthMode => ({ kind: 'off', delta })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', '-1', '+1', ' 1', '1 ', '0x10', '1e3', 'abc', '99999999999999999999999', '4294967297', '\u0661')
      .map((text): LengthMode => ({ kind: 'text', text })),
  },
);

type LengthMode = { kind: 'none' } | { kind: 'exact' } | { kind: 'off'; delta: number } | { kind: 'text'; text: string };

export interface FrameSpec {
  command: string;
  headers: Array<[string, string]>;
  body: Buffer;
  length: LengthMode;
  crlf: boolean;
  /** Heart-beat EOLs written after the NUL. */
  trailing: number;
}

const frameSpec: fc.Arbitrary<FrameSpec> = command.chain((cmd) =>
  fc.record({
    command: fc.constant(cmd),
    headers: fc
      .tuple(requiredHeaders(cmd), fc.array(header, { maxLength: 6 }), fc.boolean())
      .map(([required, extra, extraFirst]) => (extraFirst ? [...extra, ...required] : [...required, ...extra])),
    body: cmd === 'SEND' ? body : fc.oneof({ weight: 9, arbitrary: fc.constant(Buffer.alloc(0)) }, { weight: 1, arbitrary: body }),
    length: lengthMode,
    crlf: fc.boolean(),
    trailing: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
  }),
);

/** Writes a frame spec as raw bytes, exactly as specified (no escaping, no repair). */
export function writeFrame(spec: FrameSpec): Buffer {
  const eol = spec.crlf ? CRLF : LF;
  const parts: Buffer[] = [Buffer.from(spec.command), eol];
  for (const [name, value] of spec.headers) parts.push(Buffer.from(`${name}:${value}`), eol);
  const length = spec.length;
  if (length.kind === 'exact') parts.push(Buffer.from(`content-length:${spec.body.length}`), eol);
  else if (length.kind === 'off') parts.push(Buffer.from(`content-length:${Math.max(0, spec.body.length + length.delta)}`), eol);
  else if (length.kind === 'text') parts.push(Buffer.from(`content-length:${length.text}`), eol);
  parts.push(eol, spec.body, NUL);
  for (let i = 0; i < spec.trailing; i++) parts.push(eol);
  return Buffer.concat(parts);
}

// ---- the byte-level mutator ----------------------------------------------------------------------

/** Valid frames (a session is connected as 1.2 when it gets to send them). */
export const CORPUS: readonly Buffer[] = [
  'SEND\ndestination:/topic/fuzz/a\n\nhello\0',
  'SEND\ndestination:/topic/fuzz/b\ncontent-type:text/plain\ncontent-length:5\n\nhe\0lo\0',
  'SEND\ndestination:/queue/fuzz-1\nreceipt:r1\nx-h:a\\cb\\n\\\\\n\n{"a":1}\0\n',
  'SEND\r\ndestination:/topic/fuzz/a\r\ncontent-length:3\r\n\r\nabc\0\r\n',
  'SUBSCRIBE\nid:0\ndestination:/topic/fuzz/*\n\n\0',
  'SUBSCRIBE\nid:1\ndestination:/queue/fuzz-1\nack:client-individual\nreceipt:s1\n\n\0',
  'SUBSCRIBE\nid:2\ndestination:/queue/fuzz-2\nack:client\nprefetch-count:1\n\n\0',
  "SUBSCRIBE\nid:3\ndestination:/topic/fuzz/a\nselector:type = 'x' AND n > 3\n\n\0",
  'UNSUBSCRIBE\nid:0\n\n\0',
  'UNSUBSCRIBE\nid:1\nreceipt:u1\n\n\0',
  'ACK\nid:1\n\n\0',
  'NACK\nid:1\ntransaction:t0\n\n\0',
  'BEGIN\ntransaction:t0\n\n\0',
  'SEND\ndestination:/queue/fuzz-2\ntransaction:t0\n\nin tx\0',
  'COMMIT\ntransaction:t0\nreceipt:c1\n\n\0',
  'ABORT\ntransaction:t0\n\n\0',
  'SEND\ndestination:/app/echo\n\nhi\0',
  'SEND\ndestination:/user/someone/queue/fuzz\n\nhi\0',
  'SUBSCRIBE\nid:4\ndestination:/user/queue/fuzz\n\n\0',
  '\n\n\r\n',
  'DISCONNECT\nreceipt:bye\n\n\0',
].map((text) => Buffer.from(text));

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'special'; at: number; byte: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; other: number; from: number };

/** Applies mutations in order; positions wrap around the current length. */
export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(input);
  for (const m of mutations) {
    const n = bytes.length;
    const at = n === 0 ? 0 : m.at % n;
    switch (m.op) {
      case 'flip':
        if (n > 0) bytes[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (n > 0) bytes[at] = m.byte;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'special':
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case 'duplicate':
        bytes = Buffer.concat([bytes.subarray(0, at + m.length), bytes.subarray(at)]);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      case 'splice': {
        const other = CORPUS[m.other];
        bytes = Buffer.concat([bytes.subarray(0, at), other.subarray(m.from % other.length)]);
        break;
      }
    }
  }
  return bytes;
}


/** 1 to 4 random mutations, positions anywhere (they wrap around the input's length). */
export function randomMutations(rng: () => number): Mutation[] {
  const count = 1 + Math.floor(rng() * rng() * 4);
  const out: Mutation[] = [];
  const int = (n: number): number => Math.floor(rng() * n);
  for (let i = 0; i < count; i++) {
    const at = int(1 << 16);
    switch (int(8)) {
      case 0:
        out.push({ op: 'flip', at, bit: int(8) });
        break;
      case 1:
        out.push({ op: 'set', at, byte: int(256) });
        break;
      case 2:
        out.push({ op: 'insert', at, bytes: Uint8Array.from({ length: 1 + int(8) }, () => int(256)) });
        break;
      case 3:
        out.push({ op: 'special', at, byte: [0, 10, 13, 58, 92, 0xc3, 0xff][int(7)] });
        break;
      case 4:
        out.push({ op: 'delete', at, length: 1 + int(8) });
        break;
      case 5:
        out.push({ op: 'duplicate', at, length: 1 + int(16) });
        break;
      case 6:
        out.push({ op: 'truncate', at });
        break;
      default:
        out.push({ op: 'splice', at, other: int(CORPUS.length), from: int(1 << 16) });
    }
  }
  return out;
}

// ---- hostile but legal frames --------------------------------------------------------------------
//
// Most of a hostile session's frames must get past validation, or every session would end at its
// first frame and the run would measure WebSocket handshakes. These frames are legal by
// construction and as odd as legal gets: random header names and unicode values, legal escapes,
// ':' in values, repeated headers (first wins), values of several KiB, bodies with NULs behind an
// exact content-length, subscriptions (wildcards, selectors, client acks that are never acked)
// and transactions left open, committed or aborted.

const SEND_DESTINATIONS = [
  ...['a', 'b', 'c', 'd', 'e', 'f', 'a/b', 'a/b/c', '\u00e9\u{1F600}', 'sp ace'].map((t) => `/topic/fuzz/${t}`),
  '/queue/fuzz-1',
  '/queue/fuzz-2',
] as const;
/**
 * Most subscriptions are on quiet topics: every SEND is copied to every matching subscription of
 * every session, and a fan-out of a dozen copies per frame would spend the run's time on copies.
 */
const SUBSCRIBE_DESTINATIONS = [
  ...['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9', 'q10', 'q11', 'q12', 'q13', 'q14'].map((t) => `/topic/fuzz/quiet/${t}`),
  ...SEND_DESTINATIONS,
  '/topic/fuzz/*',
  '/topic/**',
  '/user/queue/fuzz',
] as const;
const RESERVED = new Set(['content-length', 'transaction', 'destination', 'id', 'ack', 'selector', 'prefetch-count', 'subscription', 'message-id']);

/** Text a 1.1/1.2 header may carry once written: no CR, LF, NUL; every backslash part of a legal escape. */
function legalText(text: string): string {
  return text.replace(/[\r\n\0]/g, '').replace(/\\/g, '\\\\');
}

const legalValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 16 }).map(legalText) },
  { weight: 4, arbitrary: fc.string({ unit: anyChar, maxLength: 12 }).map(legalText) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom('\\n', '\\r', '\\c', '\\\\', ':'), fc.string({ maxLength: 3 }).map(legalText)), { maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('v', '\u00e9', '\\c'), fc.integer({ min: 200, max: 1500 })).map(([s, n]) => s.repeat(n)) },
);

const legalName: fc.Arbitrary<string> = fc
  .oneof(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/),
    fc.string({ minLength: 1, maxLength: 8 }).map((name) => legalText(name).replace(/:/g, '\\c')),
    fc.constantFrom('receipt', 'content-type', 'x\\cy', 'Destination'),
  )
  .filter((name) => name.length > 0 && !RESERVED.has(name));

/** Extra headers: random, sometimes one of them repeated with another value. */
const extraHeaders: fc.Arbitrary<Array<[string, string]>> = fc
  .tuple(fc.array(fc.tuple(legalName, legalValue), { maxLength: 6 }), fc.boolean(), legalValue)
  .map(([list, repeat, value]) => (repeat && list.length > 0 ? [...list, [list[0][0], value] as [string, string]] : list));

const legalBody: fc.Arbitrary<{ body: Buffer; exact: boolean }> = fc.oneof(
  { weight: 9, arbitrary: fc.string({ unit: anyChar, maxLength: 60 }).map((s) => ({ body: Buffer.from(s.replace(/\0/g, '')), exact: false })) },
  { weight: 9, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => ({ body: Buffer.from(a), exact: true })) },
  { weight: 3, arbitrary: fc.constant({ body: Buffer.alloc(0), exact: false }) },
  { weight: 3, arbitrary: fc.constantFrom('{"n": 12345678901234567890 , "x":[1, 2]}', '{"broken":', 'line1\n\nline2').map((s) => ({ body: Buffer.from(s), exact: false })) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 12_000 }).map((n) => ({ body: Buffer.alloc(n, 0), exact: true })) },
);

function legalFrame(command: string, headers: Array<[string, string]>, body: { body: Buffer; exact: boolean }, crlf: boolean): Buffer {
  return writeFrame({ command, headers, body: body.body, length: { kind: body.exact ? 'exact' : 'none' }, crlf, trailing: 0 });
}

const noBody = { body: Buffer.alloc(0), exact: false };

interface SendSpec {
  destination: string;
  extra: Array<[string, string]>;
  body: { body: Buffer; exact: boolean };
  ownFirst: boolean;
  crlf: boolean;
}

const legalSendSpec: fc.Arbitrary<SendSpec> = fc.record({
  destination: fc.constantFrom(...SEND_DESTINATIONS),
  extra: extraHeaders,
  body: legalBody,
  ownFirst: fc.boolean(),
  crlf: fc.boolean(),
});

function writeSend(spec: SendSpec, transaction?: string): Buffer {
  const own: Array<[string, string]> = [['destination', spec.destination]];
  if (transaction !== undefined) own.push(['transaction', transaction]);
  return legalFrame('SEND', spec.ownFirst ? [...own, ...spec.extra] : [...spec.extra, ...own], spec.body, spec.crlf);
}

const legalSend: fc.Arbitrary<Buffer> = legalSendSpec.map((spec) => writeSend(spec));

/** A fresh id: unique within a session with overwhelming probability, and legal as a header value. */
const freshId = fc.uuid();

/** SUBSCRIBE, a few SENDs, maybe UNSUBSCRIBE. */
const subscriptionUnit: fc.Arbitrary<Buffer[]> = fc
  .tuple(
    freshId,
    fc.constantFrom(...SUBSCRIBE_DESTINATIONS),
    fc.constantFrom('auto', 'client', 'client-individual', undefined),
    fc.constantFrom(undefined, undefined, "type = 'x'", "n > 3 AND type <> 'y'", 'x IS NULL'),
    fc.constantFrom(undefined, '0', '1', '5'),
    extraHeaders,
    fc.array(legalSend, { maxLength: 3 }),
    fc.boolean(),
  )
  .map(([id, destination, ack, selector, prefetch, extra, sends, unsubscribe]) => {
    const headers: Array<[string, string]> = [['id', id], ['destination', destination]];
    // No queue wildcards (refused by the broker) and only 1.1+ acks where they are legal in every version.
    if (ack !== undefined && ack !== 'client-individual') headers.push(['ack', ack]);
    if (selector !== undefined) headers.push(['selector', selector]);
    if (prefetch !== undefined) headers.push(['prefetch-count', prefetch]);
    const frames = [legalFrame('SUBSCRIBE', [...headers, ...extra], noBody, false), ...sends];
    if (unsubscribe) frames.push(legalFrame('UNSUBSCRIBE', [['id', id]], noBody, false));
    return frames;
  });

/** BEGIN, SENDs in the transaction, then COMMIT, ABORT, or nothing (left open at disconnect). */
const transactionUnit: fc.Arbitrary<Buffer[]> = fc
  .tuple(freshId, fc.array(legalSendSpec, { maxLength: 4 }), fc.constantFrom('COMMIT', 'ABORT', 'open'))
  .map(([tx, sends, end]) => {
    const frames = [legalFrame('BEGIN', [['transaction', tx]], noBody, false), ...sends.map((spec) => writeSend(spec, tx))];
    if (end !== 'open') frames.push(legalFrame(end, [['transaction', tx], ['receipt', `${end}-${tx}`]], noBody, false));
    return frames;
  });

/** A unit of legal frames (one or several that belong together), or heart-beat EOLs. */
export const legalUnit: fc.Arbitrary<Buffer[]> = fc.oneof(
  { weight: 10, arbitrary: legalSend.map((f) => [f]) },
  { weight: 1, arbitrary: subscriptionUnit },
  { weight: 2, arbitrary: transactionUnit },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r\n', '\n\n\n').map((eol) => [Buffer.from(eol)]) },
);

/** A frame with no promise of legality: anything the frame grammar allows, and much it does not. */
export const wildFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 8, arbitrary: frameSpec.map(writeFrame) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 48 }).map((a) => Buffer.from(a)) },
);

/** A hostile CONNECT (or STOMP, or a lower-case one): random versions, heart-beats, bodies, headers. */
export const wildConnect: fc.Arbitrary<Buffer> = fc
  .record({
    command: fc.constantFrom('CONNECT', 'STOMP', 'CONNECT', 'connect'),
    headers: fc.array(
      fc.constantFrom('accept-version', 'heart-beat', 'host', 'login', 'passcode', 'content-length', 'x').chain((n) => valueFor(n).map((v): [string, string] => [n, v])),
      { maxLength: 5 },
    ),
    body: fc.oneof({ weight: 5, arbitrary: fc.constant(Buffer.alloc(0)) }, { weight: 1, arbitrary: body }),
    length: fc.constant<LengthMode>({ kind: 'none' }),
    crlf: fc.boolean(),
    trailing: fc.constant(0),
  })
  .map(writeFrame);

// ---- sessions ------------------------------------------------------------------------------------

/** How the client ends a session the server did not end first. */
export type Ending = 'disconnect' | 'close' | 'terminate' | 'terminate-mid-frame' | 'silent';

export type FrameKind = 'legal' | 'wild' | 'mutated' | 'random';

export interface SessionPlan {
  /** CONNECT bytes, or null: the session starts without one. */
  opening: Buffer | null;
  frames: Buffer[];
  /** Where each frame came from, for the run's summary. */
  kinds: FrameKind[];
  ending: Ending;
}

/** fast-check output shared by the sessions of one block (128 sessions of one worker). */
export interface Block {
  legal: Buffer[][];
  /** Whether legal[i] opens a subscription or transaction (its id may be used once per session). */
  stateful: boolean[];
  wild: Buffer[];
  connects: Buffer[];
}

const SESSIONS_PER_BLOCK = 128;

function sampleBlock(seed: number): Block {
  const legal = fc.sample(legalUnit, { seed, numRuns: 384 });
  return {
    legal,
    stateful: legal.map((unit) => unit[0].subarray(0, 6).toString() === 'SUBSCR' || unit[0].subarray(0, 5).toString() === 'BEGIN'),
    wild: fc.sample(wildFrame, { seed: seed + 1, numRuns: 128 }),
    connects: fc.sample(wildConnect, { seed: seed + 2, numRuns: 16 }),
  };
}

/**
 * Session `index` of `worker`: its frames are fast-check samples of the worker's current block
 * (every 128 sessions) picked and mutated by a PRNG seeded from the three numbers, so the whole plan
 * is a pure function of (seed, worker, index). The mix aims at about one fatal frame in 20–25, so
 * a session lives for a few dozen frames before it is refused.
 */
export function planFor(seed: number, worker: number, index: number, block?: Block): SessionPlan {
  const b = block ?? sampleBlock(sessionSeed(seed, worker, Math.floor(index / SESSIONS_PER_BLOCK)));
  const rng = mulberry32(sessionSeed(seed, worker, 1_000_003 + index));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)];
  const r = rng();
  const opening =
    r < 0.86
      ? Buffer.from(`CONNECT\naccept-version:${pick(['1.2', '1.2', '1.2', '1.2', '1.1', '1.0'])}\nhost:fuzz\n${rng() < 0.1 ? 'heart-beat:50,50\n' : ''}\n\0`)
      : r < 0.97
        ? pick(b.connects)
        : null;
  const frames: Buffer[] = [];
  const kinds: FrameKind[] = [];
  const used = new Set<number>();
  const length = 8 + Math.floor(rng() * 250);
  while (frames.length < length) {
    const k = rng();
    if (k < 0.965) {
      const i = Math.floor(rng() * b.legal.length);
      if (b.stateful[i] && used.has(i)) continue; // its subscription id / transaction would repeat
      used.add(i);
      const unit = b.legal[i];
      frames.push(...unit);
      for (let i = 0; i < unit.length; i++) kinds.push('legal');
    } else if (k < 0.98) {
      frames.push(pick(b.wild));
      kinds.push('wild');
    } else if (k < 0.996) {
      const base = rng() < 0.6 ? pick(CORPUS) : pick(pick(b.legal));
      frames.push(mutate(base, randomMutations(rng)));
      kinds.push('mutated');
    } else {
      frames.push(Buffer.from(Uint8Array.from({ length: 1 + Math.floor(rng() * 32) }, () => Math.floor(rng() * 256))));
      kinds.push('random');
    }
  }
  const e = rng();
  const ending: Ending = e < 0.25 ? 'disconnect' : e < 0.5 ? 'close' : e < 0.75 ? 'terminate' : e < 0.97 ? 'terminate-mid-frame' : 'silent';
  return { opening, frames, kinds, ending };
}

/** planFor over consecutive indexes, sampling each block once. */
export function planStream(seed: number, worker: number): (index: number) => SessionPlan {
  let current = -1;
  let block: Block | undefined;
  return (index) => {
    const n = Math.floor(index / SESSIONS_PER_BLOCK);
    if (n !== current || block === undefined) {
      current = n;
      block = sampleBlock(sessionSeed(seed, worker, n));
    }
    return planFor(seed, worker, index, block);
  };
}

export function sessionSeed(seed: number, worker: number, n: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 31) + Math.imul(worker + 1, 0x85ebca6b) + Math.imul(n + 1, 0xc2b2ae35)) | 0;
}
