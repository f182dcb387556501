import { Decoder, type DecoderOptions } from '../../src/codec/decoder';
import type { Frame, HeaderList } from '../../src/codec/frame';
import type { StompVersion } from '../../src/codec/versions';
import { StompError, type StompErrorCode } from '../../src/errors';
import { mulberry32 } from '../helpers/random';

// ---------------------------------------------------------------------------------------------
// Feeding helpers: every input is fed whole, byte by byte, and in seeded random splits, and all
// ways must produce the same events (and the same error, if any).

type Event = { frame: { command: string; headers: HeaderList; body: Buffer } } | 'heartbeat';

interface Outcome {
  events: Event[];
  error?: StompError;
}

interface FeedOptions extends DecoderOptions {
  version?: StompVersion;
  /** Called from the frame callback, e.g. to change the version. */
  onFrame?: (frame: Frame, decoder: Decoder) => void;
}

function randomSplit(input: Buffer, seed: number): Buffer[] {
  const random = mulberry32(seed);
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const max = random() < 0.5 ? 8 : 64;
    const size = 1 + Math.floor(random() * Math.min(max, input.length - at));
    chunks.push(input.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function splits(input: Buffer): Array<[label: string, chunks: Buffer[]]> {
  const ways: Array<[string, Buffer[]]> = [['whole', [input]]];
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  ways.push(['byte by byte', bytes]);
  for (const seed of [1, 2, 3, 42, 1234]) ways.push([`random split (seed ${seed})`, randomSplit(input, seed)]);
  return ways;
}

function feed(chunks: Buffer[], options: FeedOptions = {}): Outcome {
  const events: Event[] = [];
  const decoder: Decoder = new Decoder(
    {
      frame(frame) {
        events.push({ frame: { command: frame.command, headers: frame.headers.map(([n, v]) => [n, v]), body: Buffer.from(frame.body) } });
        options.onFrame?.(frame, decoder);
      },
      heartbeat() {
        events.push('heartbeat');
      },
    },
    options,
  );
  if (options.version !== undefined) decoder.version = options.version;
  for (const chunk of chunks) {
    try {
      decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof StompError)) throw err;
      // A failed decoder stays failed, with the same error.
      expect(() => decoder.push(Buffer.from('\n'))).toThrow(err);
      return { events, error: err };
    }
  }
  return { events };
}

function bytes(input: string | Buffer): Buffer {
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

/** Decode `input` every way; all must agree and none may fail. */
function decodeAll(input: string | Buffer, options: FeedOptions = {}): Event[] {
  const ways = splits(bytes(input));
  const reference = feed(ways[0][1], options);
  if (reference.error) throw reference.error;
  for (const [label, chunks] of ways.slice(1)) {
    const outcome = feed(chunks, options);
    expect({ label, ...outcome }).toEqual({ label, events: reference.events });
  }
  return reference.events;
}

function framesOf(events: Event[]): Array<{ command: string; headers: HeaderList; body: Buffer }> {
  return events.flatMap((e) => (e === 'heartbeat' ? [] : [e.frame]));
}

function decodeOne(input: string | Buffer, options: FeedOptions = {}): { command: string; headers: HeaderList; body: Buffer } {
  const frames = framesOf(decodeAll(input, options));
  expect(frames).toHaveLength(1);
  return frames[0];
}

/** Decode `input` every way; all must fail with this code and message, after the same frames. */
function expectDecodeError(input: string | Buffer, code: StompErrorCode, message: string, options: FeedOptions = {}): Event[] {
  const ways = splits(bytes(input));
  let events: Event[] | undefined;
  for (const [label, chunks] of ways) {
    const outcome = feed(chunks, options);
    expect({ label, code: outcome.error?.code, message: outcome.error?.message }).toEqual({ label, code, message });
    if (events === undefined) events = outcome.events;
    else expect({ label, events: outcome.events }).toEqual({ label, events });
  }
  return events ?? [];
}

function sendFrame(headers: string, body = '', nul = '\0'): string {
  return `SEND\n${headers}\n${body}${nul}`;
}

// ---------------------------------------------------------------------------------------------

describe('Decoder', () => {
  describe('framing', () => {
    it('decodes a SEND frame with LF line endings', () => {
      const frame = decodeOne('SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello\0');
      expect(frame).toEqual({
        command: 'SEND',
        headers: [
          ['destination', '/queue/a'],
          ['content-type', 'text/plain'],
        ],
        body: Buffer.from('hello'),
      });
    });

    it('decodes a frame with CRLF line endings on the command, header and blank lines', () => {
      const frame = decodeOne('SEND\r\ndestination:/queue/a\r\nreceipt:77\r\n\r\nhello\0');
      expect(frame).toEqual({
        command: 'SEND',
        headers: [
          ['destination', '/queue/a'],
          ['receipt', '77'],
        ],
        body: Buffer.from('hello'),
      });
    });

    it('decodes a frame mixing LF and CRLF line endings', () => {
      const frame = decodeOne('SEND\r\na:1\nb:2\r\n\nx\0');
      expect(frame.headers).toEqual([
        ['a', '1'],
        ['b', '2'],
      ]);
    });

    it('reassembles a SEND frame split across three chunks', () => {
      const { events } = feed([Buffer.from('SEND\ndesti'), Buffer.from('nation:/queue/a\n\nhel'), Buffer.from('lo\0')]);
      expect(framesOf(events)).toEqual([{ command: 'SEND', headers: [['destination', '/queue/a']], body: Buffer.from('hello') }]);
    });

    it('decodes several frames in one chunk', () => {
      const input = sendFrame('destination:/a\n', 'one') + 'SUBSCRIBE\nid:0\ndestination:/b\n\n\0' + sendFrame('destination:/c\ncontent-length:3\n', 'thr');
      const frames = framesOf(decodeAll(input));
      expect(frames.map((f) => [f.command, f.body.toString()])).toEqual([
        ['SEND', 'one'],
        ['SUBSCRIBE', ''],
        ['SEND', 'thr'],
      ]);
    });

    it('reports each EOL between frames as one heart-beat', () => {
      const input = '\n\r\n\n' + 'DISCONNECT\n\n\0' + '\n\r\n' + 'DISCONNECT\n\n\0' + '\n';
      const events = decodeAll(input);
      const shape = events.map((e) => (e === 'heartbeat' ? 'hb' : e.frame.command));
      expect(shape).toEqual(['hb', 'hb', 'hb', 'DISCONNECT', 'hb', 'hb', 'DISCONNECT', 'hb']);
    });

    it('reports heart-beats when nothing else arrives', () => {
      expect(decodeAll('\n\n\n\r\n\n')).toEqual(['heartbeat', 'heartbeat', 'heartbeat', 'heartbeat', 'heartbeat']);
    });

    it('waits for the LF of a CRLF heart-beat split across chunks', () => {
      const { events } = feed([Buffer.from('\r'), Buffer.from('\n')]);
      expect(events).toEqual(['heartbeat']);
    });

    it('works without a heartbeat handler', () => {
      const frames: Frame[] = [];
      const decoder = new Decoder({ frame: (f) => frames.push(f) });
      decoder.push(Buffer.from('\n\r\nDISCONNECT\n\n\0\n'));
      expect(frames.map((f) => f.command)).toEqual(['DISCONNECT']);
    });

    it('keeps the command line as sent and leaves judging it to the session', () => {
      const frames = framesOf(decodeAll('send\n\n\0 SEND \n\n\0FOO:bar\n\n\0'));
      expect(frames.map((f) => f.command)).toEqual(['send', ' SEND ', 'FOO:bar']);
    });

    it('counts bufferedBytes for an incomplete frame and drops them once it completes', () => {
      const decoder = new Decoder({ frame: () => undefined });
      decoder.push(Buffer.from('SEND\ndestination:/a\n\nhel'));
      expect(decoder.bufferedBytes).toBe(24);
      decoder.push(Buffer.from('lo\0SEN'));
      expect(decoder.bufferedBytes).toBe(3);
    });

    it('is idle only between frames with nothing buffered, held or failed, and can then serve another stream', () => {
      const seen: string[] = [];
      const decoder = new Decoder({ frame: (f) => seen.push(`first ${f.headers[0][1]}`) });
      expect(decoder.idle).toBe(true);
      decoder.push(Buffer.from('SEND\ndestination:/a\n\nhel'));
      expect(decoder.idle).toBe(false);
      expect(() => decoder.rebind({ frame: () => undefined }, '1.2')).toThrow(/not idle/);
      decoder.push(Buffer.from('lo\0'));
      expect(decoder.idle).toBe(true);
      decoder.pause();
      expect(decoder.idle).toBe(false);
      decoder.resume();
      decoder.push(Buffer.from('\r'));
      expect(decoder.idle).toBe(false); // half of a CRLF heart-beat
      decoder.push(Buffer.from('\n'));
      expect(decoder.idle).toBe(true);
      // Rebound: frames go to the new handlers, unescaped per the new version (1.0: none).
      decoder.rebind({ frame: (f) => seen.push(`second ${f.headers[0][1]}`) }, '1.0');
      decoder.push(Buffer.from('SEND\ndestination:/b\\c\n\n\0'));
      expect(seen).toEqual(['first /a', 'second /b\\c']);
      decoder.rebind({ frame: () => undefined }, '1.2');
      expect(() => decoder.push(Buffer.from('SEND\nx:\\q\n\n\0'))).toThrow(StompError);
      expect(decoder.idle).toBe(false);
    });

    it('ignores empty chunks', () => {
      const { events } = feed([Buffer.alloc(0), Buffer.from('DISCONNECT\n\n'), Buffer.alloc(0), Buffer.from('\0')]);
      expect(framesOf(events)).toHaveLength(1);
    });
  });

  describe('bodies', () => {
    it('reads exactly content-length bytes even when the body contains NUL', () => {
      const body = Buffer.from([0, 1, 0, 0, 2, 0]);
      const input = Buffer.concat([Buffer.from('SEND\ndestination:/a\ncontent-length:6\n\n'), body, Buffer.from('\0')]);
      expect(decodeOne(input).body).toEqual(body);
    });

    it('keeps a binary body byte for byte', () => {
      const body = Buffer.alloc(256);
      for (let i = 0; i < 256; i++) body[i] = 255 - i;
      const input = Buffer.concat([Buffer.from('MESSAGE\ncontent-length:256\n\n'), body, Buffer.from('\0\n')]);
      const events = decodeAll(input);
      expect(framesOf(events)[0].body).toEqual(body);
      expect(events[1]).toBe('heartbeat');
    });

    it('ends a body without content-length at the first NUL', () => {
      const frames = framesOf(decodeAll('SEND\ndestination:/a\n\nab\0cd\n\n\0'));
      expect(frames[0].body.toString()).toBe('ab');
      // "cd" starts the next frame: its command line.
      expect(frames[1]).toEqual({ command: 'cd', headers: [], body: Buffer.alloc(0) });
    });

    it('decodes an empty body with and without content-length', () => {
      const frames = framesOf(decodeAll('SEND\ndestination:/a\n\n\0SEND\ndestination:/a\ncontent-length:0\n\n\0'));
      expect(frames.map((f) => f.body.length)).toEqual([0, 0]);
    });

    it('does not validate bodies as UTF-8', () => {
      const body = Buffer.from([0xff, 0xfe, 0xc3]);
      expect(decodeOne(Buffer.concat([Buffer.from('SEND\n\n'), body, Buffer.from('\0')])).body).toEqual(body);
    });

    it('accepts leading zeros in content-length', () => {
      expect(decodeOne('SEND\ncontent-length:0003\n\nabc\0').body.toString()).toBe('abc');
    });

    it('uses the first content-length when the header is repeated', () => {
      const frame = decodeOne('SEND\ncontent-length:5\ncontent-length:2\n\nab\0cd\0');
      expect(frame.body).toEqual(Buffer.from('ab\0cd'));
      expect(frame.headers).toEqual([
        ['content-length', '5'],
        ['content-length', '2'],
      ]);
    });

    it('takes a 64 KiB body with content-length across many chunks', () => {
      const body = Buffer.alloc(65536);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
      const input = Buffer.concat([Buffer.from('SEND\ncontent-length:65536\n\n'), body, Buffer.from('\0')]);
      const chunks: Buffer[] = [];
      for (let at = 0; at < input.length; at += 1000) chunks.push(input.subarray(at, at + 1000));
      expect(framesOf(feed(chunks).events)[0].body.equals(body)).toBe(true);
    });

    it('takes a 512 KiB body fed one byte per push in linear time', () => {
      // 524,288 chunks: per-chunk work must be O(1) (a shift per consumed chunk was O(n²) here).
      const body = Buffer.alloc(512 * 1024, 7);
      for (const head of [`SEND\ncontent-length:${body.length}\n\n`, 'SEND\n\n']) {
        const input = Buffer.concat([Buffer.from(head), body, Buffer.from('\0')]);
        const frames: Frame[] = [];
        const decoder = new Decoder({ frame: (f) => frames.push(f) });
        const started = Date.now();
        for (let i = 0; i < input.length; i++) decoder.push(input.subarray(i, i + 1));
        expect(frames).toHaveLength(1);
        expect(frames[0].body.equals(body)).toBe(true);
        expect(Date.now() - started).toBeLessThan(8000);
      }
    });
  });

  describe('headers', () => {
    it('keeps repeated headers in order', () => {
      expect(decodeOne('MESSAGE\nfoo:World\nfoo:Hello\nbar:1\nfoo:Again\n\n\0').headers).toEqual([
        ['foo', 'World'],
        ['foo', 'Hello'],
        ['bar', '1'],
        ['foo', 'Again'],
      ]);
    });

    it('never trims header names or values', () => {
      expect(decodeOne('SEND\n a : b \n\t:\t\n\n\0').headers).toEqual([
        [' a ', ' b '],
        ['\t', '\t'],
      ]);
    });

    it('splits a header line at the first colon', () => {
      for (const version of ['1.0', '1.1', '1.2'] as const) {
        expect(decodeOne('SEND\nurl:http://x:80/\n\n\0', { version }).headers).toEqual([['url', 'http://x:80/']]);
      }
    });

    it('keeps an empty header value', () => {
      expect(decodeOne('SEND\nempty:\n\n\0').headers).toEqual([['empty', '']]);
    });

    it('decodes UTF-8 commands, header names and values', () => {
      expect(decodeOne('SEND\nzażółć:😀\nx:日本語\n\n\0').headers).toEqual([
        ['zażółć', '😀'],
        ['x', '日本語'],
      ]);
    });

    it('keeps U+FFFD that was sent as valid UTF-8', () => {
      expect(decodeOne('SEND\nx:\uFFFD\n\n\0').headers).toEqual([['x', '\uFFFD']]);
    });

    it('hands out a fresh headers array per frame', () => {
      const frames: Frame[] = [];
      const decoder = new Decoder({ frame: (f) => frames.push(f) });
      decoder.push(Buffer.from('SEND\na:1\n\n\0SEND\na:2\n\n\0'));
      frames[0].headers[0][1] = 'changed';
      expect(frames[1].headers).toEqual([['a', '2']]);
    });
  });

  describe('escaping', () => {
    const escaped = 'SEND\nv:a\\r\\n\\c\\\\b\nk\\cey:1\n\n\0';

    it('unescapes \\r \\n \\c \\\\ in names and values under 1.2', () => {
      expect(decodeOne(escaped, { version: '1.2' }).headers).toEqual([
        ['v', 'a\r\n:\\b'],
        ['k:ey', '1'],
      ]);
    });

    it('decodes \\\\n as a backslash followed by n, not as LF', () => {
      expect(decodeOne('SEND\nv:\\\\n\\\\\\n\n\n\0', { version: '1.2' }).headers).toEqual([['v', '\\n\\\n']]);
    });

    it('unescapes \\n \\c \\\\ under 1.1', () => {
      expect(decodeOne('SEND\nv:a\\n\\c\\\\b\n\n\0', { version: '1.1' }).headers).toEqual([['v', 'a\n:\\b']]);
    });

    it('refuses \\r under 1.1, where it is an undefined escape', () => {
      expectDecodeError(
        'SEND\nv:a\\rb\n\n\0',
        'STOMP_ERR_BAD_ESCAPE',
        'undefined escape sequence \\r in value of header "v" (STOMP 1.1 defines only \\n \\c \\\\)',
        { version: '1.1' },
      );
    });

    it('does not unescape anything under 1.0', () => {
      expect(decodeOne('SEND\nv:a\\nb\\t\\\nk\\c:x\n\n\0', { version: '1.0' }).headers).toEqual([
        ['v', 'a\\nb\\t\\'],
        ['k\\c', 'x'],
      ]);
    });

    it('never unescapes CONNECT, STOMP or CONNECTED frames', () => {
      for (const command of ['CONNECT', 'STOMP', 'CONNECTED']) {
        expect(decodeOne(`${command}\nlogin:a\\nb\\t\n\n\0`, { version: '1.2' }).headers).toEqual([['login', 'a\\nb\\t']]);
      }
    });

    it('refuses an undefined escape sequence under 1.2', () => {
      expectDecodeError(
        'SEND\ndestination:/a\nv:a\\tb\n\n\0',
        'STOMP_ERR_BAD_ESCAPE',
        'undefined escape sequence \\t in value of header "v" (STOMP 1.2 defines only \\r \\n \\c \\\\)',
      );
    });

    it('refuses an undefined escape sequence in a header name', () => {
      expectDecodeError('SEND\na\\xb:1\n\n\0', 'STOMP_ERR_BAD_ESCAPE', 'undefined escape sequence \\x in header name "a\\\\xb" (STOMP 1.2 defines only \\r \\n \\c \\\\)');
    });

    it('refuses a value that ends with a lone backslash', () => {
      expectDecodeError('SEND\nv:abc\\\n\n\0', 'STOMP_ERR_BAD_ESCAPE', 'value of header "v" ends with a lone backslash');
    });

    it('unescapes only the texts that hold a backslash, across many headers', () => {
      const frame = decodeOne('SEND\na:1\nb\\c:2\nc:3\\n\nd:4\ne\\\\:\\\\5\n\n\0');
      expect(frame.headers).toEqual([
        ['a', '1'],
        ['b:', '2'],
        ['c', '3\n'],
        ['d', '4'],
        ['e\\', '\\5'],
      ]);
    });

    it('applies a version set in the frame callback to the next frame in the same chunk', () => {
      const input = 'CONNECT\naccept-version:1.0\n\n\0SEND\nv:a\\tb\n\n\0';
      const frames = framesOf(
        decodeAll(input, {
          version: '1.2',
          onFrame: (frame, decoder) => {
            if (frame.command === 'CONNECT') decoder.version = '1.0';
          },
        }),
      );
      expect(frames[1].headers).toEqual([['v', 'a\\tb']]);
    });
  });

  describe('errors', () => {
    it('refuses a CR not followed by LF inside a header line', () => {
      expectDecodeError('SEND\r\nfoo:b\rar\r\n\r\n\0', 'STOMP_ERR_BAD_FRAME', 'CR not followed by LF in frame header');
    });

    it('refuses a CR not followed by LF at the end of the command line', () => {
      expectDecodeError('SEND\rX\n\n\0', 'STOMP_ERR_BAD_FRAME', 'CR not followed by LF in frame header');
    });

    it('refuses a CR not followed by LF between frames', () => {
      const events = expectDecodeError('\n\rSEND\n\n\0', 'STOMP_ERR_BAD_FRAME', 'CR not followed by LF between frames');
      expect(events).toEqual(['heartbeat']);
    });

    it('refuses a header line without a colon', () => {
      expectDecodeError('SEND\ndestination:/a\nfoo\n\n\0', 'STOMP_ERR_BAD_FRAME', 'header line without \':\' ("foo")');
    });

    it('refuses a header line with an empty name', () => {
      expectDecodeError('SEND\n:bar\n\n\0', 'STOMP_ERR_BAD_FRAME', 'header line with an empty name (":bar")');
    });

    it('quotes at most 40 characters of an offending line', () => {
      expectDecodeError(`SEND\n${'x'.repeat(100)}\n\n\0`, 'STOMP_ERR_BAD_FRAME', `header line without ':' ("${'x'.repeat(40)}…")`);
    });

    it('refuses a NUL inside the header block', () => {
      expectDecodeError('DISCONNECT\nreceipt:1\0SEND\n\n\0', 'STOMP_ERR_BAD_FRAME', 'NUL octet in command or header block (missing blank line after headers?)');
    });

    it('refuses a stray NUL between frames', () => {
      const events = expectDecodeError('DISCONNECT\n\n\0\n\0', 'STOMP_ERR_BAD_FRAME', 'NUL octet where a command was expected');
      expect(events).toHaveLength(2);
    });

    it('refuses invalid UTF-8 in a header value', () => {
      const input = Buffer.concat([Buffer.from('SEND\nx:'), Buffer.from([0xc3, 0x28]), Buffer.from('\n\n\0')]);
      expectDecodeError(input, 'STOMP_ERR_BAD_UTF8', 'command or header is not valid UTF-8');
    });

    it('refuses invalid UTF-8 in the command', () => {
      const input = Buffer.concat([Buffer.from([0x53, 0xff]), Buffer.from('\n\n\0')]);
      expectDecodeError(input, 'STOMP_ERR_BAD_UTF8', 'command or header is not valid UTF-8');
    });

    it('refuses UTF-8 encoded surrogates in a header', () => {
      const input = Buffer.concat([Buffer.from('SEND\nx:'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n\n\0')]);
      expectDecodeError(input, 'STOMP_ERR_BAD_UTF8', 'command or header is not valid UTF-8');
    });

    it.each([['abc'], ['-1'], ['+5'], [' 5'], ['5 '], [''], ['1.0'], ['0x10'], ['١']])('refuses content-length %j', (value) => {
      expectDecodeError(
        `SEND\ncontent-length:${value}\n\n\0`,
        'STOMP_ERR_BAD_CONTENT_LENGTH',
        `content-length must be ASCII digits only (got ${JSON.stringify(value)})`,
      );
    });

    it('refuses a content-length over maxFrameBytes as soon as the header block is complete', () => {
      // Only the header block is pushed: the error must not wait for (or buffer) the body.
      const head = 'SEND\ncontent-length:2000\n\n';
      expectDecodeError(
        head,
        'STOMP_ERR_FRAME_TOO_LARGE',
        'frame exceeds maxFrameBytes (1000 bytes): content-length "2000" after a 26-byte header block',
        { maxFrameBytes: 1000 },
      );
    });

    it('refuses an absurdly long content-length without losing precision', () => {
      expectDecodeError(
        `SEND\ncontent-length:${'9'.repeat(30)}\n\n`,
        'STOMP_ERR_FRAME_TOO_LARGE',
        `frame exceeds maxFrameBytes (1048576 bytes): content-length "${'9'.repeat(30)}" after a 52-byte header block`,
      );
    });

    it('accepts a frame whose header block and content-length fill maxFrameBytes exactly', () => {
      const head = 'SEND\ncontent-length:74\n\n'; // 24 bytes
      expect(decodeOne(`${head}${'x'.repeat(74)}\0`, { maxFrameBytes: 98 }).body.length).toBe(74);
      expectDecodeError(`${head}`, 'STOMP_ERR_FRAME_TOO_LARGE', 'frame exceeds maxFrameBytes (97 bytes): content-length "74" after a 24-byte header block', {
        maxFrameBytes: 97,
      });
    });

    it('refuses a body that is not followed by NUL after content-length bytes', () => {
      expectDecodeError('SEND\ncontent-length:3\n\nabcd\0', 'STOMP_ERR_BAD_FRAME', 'frame not terminated by NUL after content-length (3) bytes');
    });

    it('refuses more than maxHeaders header lines before the blank line arrives', () => {
      expect(decodeOne('SEND\na:1\nb:2\n\n\0', { maxHeaders: 2 }).headers).toHaveLength(2);
      expectDecodeError('SEND\na:1\nb:2\nc:3\n', 'STOMP_ERR_TOO_MANY_HEADERS', 'frame has more than maxHeaders (2) header lines', { maxHeaders: 2 });
    });

    it('refuses a header block over maxHeaderBytes before the blank line arrives', () => {
      // 32 bytes without a blank line is still within the limit: nothing happens yet.
      const within = 'SEND\nx:' + 'a'.repeat(25);
      expect(Buffer.byteLength(within)).toBe(32);
      expect(feed([Buffer.from(within)], { maxHeaderBytes: 32 })).toEqual({ events: [] });
      // One byte more and the block is known to be too large.
      expectDecodeError(within + 'a', 'STOMP_ERR_HEADER_TOO_LARGE', 'header block exceeds maxHeaderBytes (32 bytes)', { maxHeaderBytes: 32 });
    });

    it('accepts a header block of exactly maxHeaderBytes, blank line included', () => {
      const head = 'SEND\nx:' + 'a'.repeat(23) + '\n\n';
      expect(Buffer.byteLength(head)).toBe(32);
      expect(decodeOne(head + '\0', { maxHeaderBytes: 32 }).headers).toEqual([['x', 'a'.repeat(23)]]);
      expectDecodeError(head + '\0', 'STOMP_ERR_HEADER_TOO_LARGE', 'header block exceeds maxHeaderBytes (31 bytes)', { maxHeaderBytes: 31 });
    });

    it('refuses a frame without content-length as soon as it grows past maxFrameBytes', () => {
      const head = 'SEND\n\n'; // 6 bytes
      expect(decodeOne(head + 'x'.repeat(58) + '\0', { maxFrameBytes: 64 }).body.length).toBe(58);
      // No NUL ever arrives: the error comes once 65 bytes are buffered.
      expectDecodeError(head + 'x'.repeat(59), 'STOMP_ERR_FRAME_TOO_LARGE', 'frame exceeds maxFrameBytes (64 bytes)', { maxFrameBytes: 64 });
    });

    it('reports a header block over maxFrameBytes as a frame limit when that limit is the smaller', () => {
      expectDecodeError('SEND\nx:' + 'a'.repeat(20), 'STOMP_ERR_FRAME_TOO_LARGE', 'frame exceeds maxFrameBytes (16 bytes)', { maxFrameBytes: 16 });
    });

    it('emits the frames before an error, then stays failed', () => {
      const events = expectDecodeError('DISCONNECT\n\n\0SEND\nbad\n\n\0', 'STOMP_ERR_BAD_FRAME', 'header line without \':\' ("bad")');
      expect(framesOf(events).map((f) => f.command)).toEqual(['DISCONNECT']);
    });

    it('rethrows the same error object on every later push and on resume', () => {
      const decoder = new Decoder({ frame: () => undefined });
      let first: unknown;
      try {
        decoder.push(Buffer.from('SEND\n:x\n\n\0'));
      } catch (err) {
        first = err;
      }
      expect(first).toBeInstanceOf(StompError);
      expect((first as StompError).code).toBe('STOMP_ERR_BAD_FRAME');
      for (let i = 0; i < 3; i++) {
        expect(() => decoder.push(Buffer.from('DISCONNECT\n\n\0'))).toThrow(first as Error);
      }
      expect(() => decoder.resume()).toThrow(first as Error);
    });

    it('lets an exception from the frame handler propagate without failing the decoder', () => {
      const seen: string[] = [];
      const decoder = new Decoder({
        frame(frame) {
          seen.push(frame.command);
          if (frame.command === 'BOOM') throw new Error('handler bug');
        },
      });
      expect(() => decoder.push(Buffer.from('BOOM\n\n\0NEXT\n\n\0'))).toThrow('handler bug');
      decoder.push(Buffer.alloc(0));
      decoder.push(Buffer.from('LAST\n\n\0'));
      expect(seen).toEqual(['BOOM', 'NEXT', 'LAST']);
    });

    it('refuses negative limits', () => {
      expect(() => new Decoder({ frame: () => undefined }, { maxFrameBytes: -1 })).toThrow(RangeError);
    });
  });

  describe('pause and resume', () => {
    const three = 'SEND\na:1\n\n\0\nSEND\na:2\n\n\0SEND\na:3\n\n\0';

    it('holds the following frames from pause() in the callback until resume()', () => {
      const seen: string[] = [];
      const decoder: Decoder = new Decoder({
        frame(frame) {
          seen.push(frame.headers[0][1]);
          if (frame.headers[0][1] === '1') decoder.pause();
        },
        heartbeat: () => seen.push('hb'),
      });
      decoder.push(Buffer.from(three));
      expect(seen).toEqual(['1']);
      expect(decoder.paused).toBe(true);
      decoder.resume();
      expect(decoder.paused).toBe(false);
      expect(seen).toEqual(['1', 'hb', '2', '3']);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('buffers pushes while paused and emits them on resume', () => {
      for (const [label, chunks] of splits(Buffer.from(three))) {
        const seen: string[] = [];
        const decoder: Decoder = new Decoder({
          frame(frame) {
            seen.push(frame.headers[0][1]);
            decoder.pause();
          },
        });
        for (const chunk of chunks) decoder.push(chunk);
        // One frame per resume, each pausing again.
        const steps = [seen.slice()];
        while (decoder.paused && seen.length < 3) {
          decoder.resume();
          steps.push(seen.slice());
        }
        expect({ label, steps }).toEqual({ label, steps: [['1'], ['1', '2'], ['1', '2', '3']] });
      }
    });

    it('reports heart-beats that arrived while paused on resume, before the held frame', () => {
      const seen: string[] = [];
      const decoder: Decoder = new Decoder({
        frame(frame) {
          seen.push(frame.command);
          if (frame.command === 'A') decoder.pause();
        },
        heartbeat: () => seen.push('hb'),
      });
      decoder.push(Buffer.from('A\n\n\0\n'));
      decoder.push(Buffer.from('\r\nB\n\n\0\nC\n\n\0'));
      expect(seen).toEqual(['A']);
      decoder.resume();
      expect(seen).toEqual(['A', 'hb', 'hb', 'B', 'hb', 'C']);
    });

    it('applies a version set while paused to the held frame', () => {
      const seen: HeaderList[] = [];
      const decoder: Decoder = new Decoder({
        frame(frame) {
          seen.push(frame.headers);
          if (frame.command === 'CONNECT') decoder.pause();
        },
      });
      decoder.push(Buffer.from('CONNECT\naccept-version:1.0\n\n\0SEND\nv:a\\tb\n\n\0'));
      decoder.version = '1.0';
      decoder.resume();
      expect(seen[1]).toEqual([['v', 'a\\tb']]);
    });

    it('continues in the same push when resume() is called inside the callback', () => {
      const seen: string[] = [];
      const decoder: Decoder = new Decoder({
        frame(frame) {
          seen.push(frame.headers[0][1]);
          decoder.pause();
          decoder.resume();
        },
      });
      decoder.push(Buffer.from(three));
      expect(seen).toEqual(['1', '2', '3']);
    });

    it('still enforces limits on pushes while paused', () => {
      const decoder: Decoder = new Decoder(
        {
          frame() {
            decoder.pause();
          },
        },
        { maxHeaderBytes: 32 },
      );
      decoder.push(Buffer.from('DISCONNECT\n\n\0'));
      expect(decoder.paused).toBe(true);
      expect(() => decoder.push(Buffer.from('SEND\nx:' + 'a'.repeat(40)))).toThrow(
        expect.objectContaining({ code: 'STOMP_ERR_HEADER_TOO_LARGE', message: 'header block exceeds maxHeaderBytes (32 bytes)' }),
      );
    });

    it('accepts frames pushed from inside the frame callback after the current one', () => {
      const seen: string[] = [];
      const decoder: Decoder = new Decoder({
        frame(frame) {
          seen.push(frame.command);
          if (frame.command === 'A') decoder.push(Buffer.from('C\n\n\0'));
        },
      });
      decoder.push(Buffer.from('A\n\n\0B\n\n\0'));
      expect(seen).toEqual(['A', 'B', 'C']);
    });
  });

  describe('buffers do not clobber', () => {
    it('keeps earlier bodies intact while later frames reuse the decoder buffers', () => {
      // Bodies that span chunks are copied; header blocks that span chunks go through a reused
      // scratch buffer. Neither may show through in frames already emitted.
      const frames: Frame[] = [];
      const decoder = new Decoder({ frame: (f) => frames.push(f) });
      const expected: Array<[string, string]> = [];
      for (let i = 0; i < 20; i++) {
        const value = String.fromCharCode(97 + i).repeat(10 + i);
        const body = String.fromCharCode(65 + i).repeat(30 + i);
        expected.push([value, body]);
        const input = Buffer.from(`SEND\nh:${value}\n${i % 2 ? `content-length:${body.length}\n` : ''}\n${body}\0`);
        for (let at = 0; at < input.length; at += 7) decoder.push(input.subarray(at, at + 7));
      }
      expect(frames.map((f) => [f.headers[0][1], f.body.toString()])).toEqual(expected);
    });

    it('keeps bodies that are views of a chunk intact after later chunks arrive', () => {
      const frames: Frame[] = [];
      const decoder = new Decoder({ frame: (f) => frames.push(f) });
      decoder.push(Buffer.from('SEND\n\nfirst\0SEND\ncontent-length:6\n\nsecond\0SEND\n\nthi'));
      decoder.push(Buffer.from('rd\0'));
      decoder.push(Buffer.from('SEND\n\nfourth\0'));
      expect(frames.map((f) => f.body.toString())).toEqual(['first', 'second', 'third', 'fourth']);
    });
  });
});
