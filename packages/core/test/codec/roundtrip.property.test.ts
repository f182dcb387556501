import fc from 'fast-check';
import { Decoder } from '../../src/codec/decoder';
import { encodeFrame, encodeMessage, HEARTBEAT, type OutgoingMessage } from '../../src/codec/encoder';
import type { Frame, HeaderList } from '../../src/codec/frame';
import type { StompVersion } from '../../src/codec/versions';

/** Cut `bytes` into pieces at the given (sorted, deduplicated) points. */
function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(at, point));
    at = point;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}

function decodeChunks(chunks: Buffer[], version: StompVersion): Array<Frame | 'heartbeat'> {
  const events: Array<Frame | 'heartbeat'> = [];
  const decoder = new Decoder({ frame: (f) => events.push(f), heartbeat: () => events.push('heartbeat') });
  decoder.version = version;
  for (const chunk of chunks) decoder.push(chunk);
  expect(decoder.bufferedBytes).toBe(0);
  return events;
}

/** Characters the escaping exists for, mixed generously into arbitrary unicode text. */
const special = fc.constantFrom('\n', '\r', ':', '\\', '\\n', '\\c', '\\r', '\\\\', 'n', 'c', 'r');
function headerText(version: StompVersion, minLength: number): fc.Arbitrary<string> {
  const piece = fc.oneof(special, fc.string({ unit: 'binary', maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 3 }));
  return fc
    .array(piece, { minLength, maxLength: 8 })
    .map((parts) => parts.join(''))
    .map((text) => {
      // NUL has no escape in any version (the encoder writes a space); 1.1 has no CR escape;
      // 1.0 has no escaping at all, so CR, LF (and ':' in names) cannot be carried.
      let t = text.replace(/\0/g, '');
      if (version !== '1.2') t = t.replace(/\r/g, '');
      if (version === '1.0') t = t.replace(/\n/g, '');
      return t;
    })
    .filter((t) => t.length >= minLength);
}

function headerList(version: StompVersion): fc.Arbitrary<HeaderList> {
  const name = headerText(version, 1).filter((n) => n !== 'content-length' && (version !== '1.0' || !n.includes(':')));
  return fc.array(fc.tuple(name, headerText(version, 0)), { maxLength: 6 });
}

const body = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
const cuts = fc.array(fc.nat(), { maxLength: 12 });
const bodyCommand = fc.constantFrom('SEND', 'MESSAGE', 'ERROR');

describe('codec round-trips', () => {
  for (const version of ['1.1', '1.2', '1.0'] as const) {
    it(`decodes what encodeFrame wrote for STOMP ${version}, however it is split`, () => {
      fc.assert(
        fc.property(bodyCommand, headerList(version), body, cuts, (command, headers, payload, points) => {
          const bytes = encodeFrame({ command, headers, body: payload }, version);
          const events = decodeChunks(splitAt(bytes, points), version);
          expect(events).toEqual([{ command, headers: [...headers, ['content-length', String(payload.length)]], body: payload }]);
        }),
        { numRuns: 300 },
      );
    });

    it(`decodes a stream of frames and heart-beats for STOMP ${version}, however it is split`, () => {
      const item = fc.oneof(
        fc.constant<'heartbeat'>('heartbeat'),
        fc.record({ command: bodyCommand, headers: headerList(version), body }),
      );
      fc.assert(
        fc.property(fc.array(item, { maxLength: 6 }), cuts, (items, points) => {
          const bytes = Buffer.concat(items.map((i) => (i === 'heartbeat' ? HEARTBEAT : encodeFrame(i, version))));
          const expected = items.map((i) =>
            i === 'heartbeat' ? i : { command: i.command, headers: [...i.headers, ['content-length', String(i.body.length)]], body: i.body },
          );
          expect(decodeChunks(splitAt(bytes, points), version)).toEqual(expected);
        }),
        { numRuns: 200 },
      );
    });

    it(`decodes what encodeMessage wrote for STOMP ${version}`, () => {
      const text = headerText(version, 0);
      const message = fc.record({
        id: text,
        destination: text,
        headers: headerList(version),
        body,
        contentType: fc.option(text, { nil: undefined }),
      });
      fc.assert(
        fc.property(message, text, fc.option(text, { nil: undefined }), fc.boolean(), cuts, (msg: OutgoingMessage, sub, ack, redelivered, points) => {
          const [head, shared] = encodeMessage(msg, version, sub, ack, redelivered);
          expect(encodeMessage(msg, version, sub, ack, redelivered)[1]).toBe(shared);
          const [decoded] = decodeChunks(splitAt(Buffer.concat([head, shared]), points), version) as Frame[];
          const owned = new Set(['destination', 'message-id', 'subscription', 'ack', 'content-length', 'content-type', 'redelivered']);
          const expected: HeaderList = [['subscription', sub]];
          if (ack !== undefined) expected.push(['ack', ack]);
          if (redelivered) expected.push(['redelivered', 'true']);
          expected.push(['message-id', msg.id], ['destination', msg.destination]);
          if (msg.contentType !== undefined) expected.push(['content-type', msg.contentType]);
          expected.push(['content-length', String(msg.body.length)]);
          for (const h of msg.headers) if (!owned.has(h[0])) expected.push(h);
          expect(decoded).toEqual({ command: 'MESSAGE', headers: expected, body: msg.body });
        }),
        { numRuns: 200 },
      );
    });
  }
});
