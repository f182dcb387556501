import { Decoder } from '../../src/codec/decoder';
import { encodeFrame, encodeMessage, HEARTBEAT, type OutgoingMessage } from '../../src/codec/encoder';
import { frame, header, type Frame, type HeaderList } from '../../src/codec/frame';
import type { StompVersion } from '../../src/codec/versions';

function decode(bytes: Buffer, version: StompVersion): Frame[] {
  const frames: Frame[] = [];
  const decoder = new Decoder({ frame: (f) => frames.push(f) });
  decoder.version = version;
  decoder.push(bytes);
  // Byte by byte must agree.
  const again: Frame[] = [];
  const slow = new Decoder({ frame: (f) => again.push(f) });
  slow.version = version;
  for (let i = 0; i < bytes.length; i++) slow.push(bytes.subarray(i, i + 1));
  expect(again).toEqual(frames);
  return frames;
}

function text(bytes: Buffer): string {
  return bytes.toString('utf8');
}

describe('encodeFrame', () => {
  it('writes command, headers, content-length, blank line, body and NUL', () => {
    const bytes = encodeFrame(frame('SEND', [['destination', '/queue/a']], Buffer.from('hi')), '1.2');
    expect(text(bytes)).toBe('SEND\ndestination:/queue/a\ncontent-length:2\n\nhi\0');
  });

  it('counts content-length in bytes, not characters', () => {
    // 6 letters (4 of them 2-byte) + a 4-byte emoji: 7 characters, 8 UTF-16 units, 14 bytes.
    const body = Buffer.from('zażółć😀');
    expect(body.length).toBe(14);
    const bytes = encodeFrame(frame('MESSAGE', [], body), '1.2');
    expect(text(bytes)).toBe('MESSAGE\ncontent-length:14\n\nzażółć😀\0');
  });

  it('replaces a caller-supplied content-length with its own', () => {
    const bytes = encodeFrame(
      frame(
        'SEND',
        [
          ['content-length', '999'],
          ['destination', '/a'],
          ['content-length', 'nonsense'],
        ],
        Buffer.from('abc'),
      ),
      '1.2',
    );
    expect(text(bytes)).toBe('SEND\ndestination:/a\ncontent-length:3\n\nabc\0');
  });

  it('writes content-length:0 for SEND, MESSAGE and ERROR without a body', () => {
    for (const command of ['SEND', 'MESSAGE', 'ERROR']) {
      expect(text(encodeFrame(frame(command, [['message', 'x']]), '1.2'))).toBe(`${command}\nmessage:x\ncontent-length:0\n\n\0`);
    }
  });

  it('writes no content-length for a bodiless frame of another command', () => {
    expect(text(encodeFrame(frame('RECEIPT', [['receipt-id', '7']]), '1.2'))).toBe('RECEIPT\nreceipt-id:7\n\n\0');
    expect(text(encodeFrame(frame('CONNECTED', [['version', '1.2'], ['content-length', '0']]), '1.2'))).toBe('CONNECTED\nversion:1.2\n\n\0');
  });

  it('escapes names and values under 1.2', () => {
    const bytes = encodeFrame(frame('MESSAGE', [['k:\\', 'a:b\nc\rd\\e']]), '1.2');
    expect(text(bytes)).toBe('MESSAGE\nk\\c\\\\:a\\cb\\nc\\rd\\\\e\ncontent-length:0\n\n\0');
  });

  it('escapes names and values under 1.1, a CR becoming a space', () => {
    const bytes = encodeFrame(frame('MESSAGE', [['k:\\', 'a:b\nc\rd\\e']]), '1.1');
    expect(text(bytes)).toBe('MESSAGE\nk\\c\\\\:a\\cb\\nc d\\\\e\ncontent-length:0\n\n\0');
  });

  it('escapes nothing under 1.0 and keeps the frame parseable', () => {
    const bytes = encodeFrame(frame('MESSAGE', [['k', 'a:b\nc\rd\\e']]), '1.0');
    expect(text(bytes)).toBe('MESSAGE\nk:a:b c d\\e\ncontent-length:0\n\n\0');
    expect(decode(bytes, '1.0')[0].headers).toEqual([
      ['k', 'a:b c d\\e'],
      ['content-length', '0'],
    ]);
  });

  it('never escapes CONNECTED, CONNECT or STOMP', () => {
    for (const command of ['CONNECTED', 'CONNECT', 'STOMP']) {
      const bytes = encodeFrame(frame(command, [['server', 'a:b\\c\nd']]), '1.2');
      expect(text(bytes)).toBe(`${command}\nserver:a:b\\c d\n\n\0`);
    }
  });

  it('writes a body holding NUL bytes that decodes back whole', () => {
    const body = Buffer.from([0, 1, 2, 0, 0]);
    const frames = decode(encodeFrame(frame('SEND', [['destination', '/a']], body), '1.2'), '1.2');
    expect(frames[0].body).toEqual(body);
  });

  it('round-trips escaped headers through the decoder per version', () => {
    const headers: HeaderList = [
      ['plain', 'value'],
      ['we:ird\\name', 'line1\nline2:\\end'],
      ['dup', '1'],
      ['dup', '2'],
    ];
    for (const version of ['1.1', '1.2'] as const) {
      const [decoded] = decode(encodeFrame(frame('MESSAGE', headers, Buffer.from('x')), version), version);
      expect(decoded.headers).toEqual([...headers, ['content-length', '1']]);
    }
  });
});

describe('HEARTBEAT', () => {
  it('is a single LF', () => {
    expect(HEARTBEAT).toEqual(Buffer.from('\n'));
  });
});

describe('encodeMessage', () => {
  function message(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
    return {
      id: 'node-1',
      destination: '/topic/news',
      headers: [['priority', 'high']],
      body: Buffer.from('hello'),
      contentType: 'text/plain',
      ...overrides,
    };
  }

  it('splits a MESSAGE into a per-recipient head and a shared part', () => {
    const [head, shared] = encodeMessage(message(), '1.2', 'sub-0', 'ack-1', true);
    expect(text(head)).toBe('MESSAGE\nsubscription:sub-0\nack:ack-1\nredelivered:true\n');
    expect(text(shared)).toBe('message-id:node-1\ndestination:/topic/news\ncontent-type:text/plain\ncontent-length:5\npriority:high\n\nhello\0');
  });

  it('leaves out ack, redelivered and content-type when not set', () => {
    const [head, shared] = encodeMessage(message({ contentType: undefined }), '1.2', 'sub-0', undefined, false);
    expect(text(head)).toBe('MESSAGE\nsubscription:sub-0\n');
    expect(text(shared)).toBe('message-id:node-1\ndestination:/topic/news\ncontent-length:5\npriority:high\n\nhello\0');
  });

  it('returns the same shared Buffer for the same message and version', () => {
    const msg = message();
    const [, first] = encodeMessage(msg, '1.2', 'a', undefined, false);
    const [, second] = encodeMessage(msg, '1.2', 'b', 'x', true);
    expect(second).toBe(first);
    const [, other] = encodeMessage(msg, '1.1', 'a', undefined, false);
    expect(other).not.toBe(first);
    expect(encodeMessage(msg, '1.1', 'c', undefined, false)[1]).toBe(other);
    expect(encodeMessage(message(), '1.2', 'a', undefined, false)[1]).not.toBe(first);
  });

  it('does not touch the message object', () => {
    const msg = Object.freeze(message());
    const before = Object.getOwnPropertyNames(msg).concat(Object.getOwnPropertySymbols(msg).map(String));
    expect(() => encodeMessage(msg, '1.2', 'a', undefined, false)).not.toThrow();
    expect(Object.getOwnPropertyNames(msg).concat(Object.getOwnPropertySymbols(msg).map(String))).toEqual(before);
  });

  it('skips user headers the server owns', () => {
    const msg = message({
      headers: [
        ['destination', '/evil'],
        ['message-id', 'x'],
        ['subscription', 'x'],
        ['ack', 'x'],
        ['content-length', '1'],
        ['content-type', 'x'],
        ['redelivered', 'x'],
        ['keep', 'me'],
      ],
    });
    const [, shared] = encodeMessage(msg, '1.2', 's', undefined, false);
    expect(text(shared)).toBe('message-id:node-1\ndestination:/topic/news\ncontent-type:text/plain\ncontent-length:5\nkeep:me\n\nhello\0');
  });

  it('decodes head + shared back with every value intact, escaping applied per version', () => {
    const msg = message({
      id: 'id:1',
      destination: '/topic/a\\b',
      headers: [['k:ey', 'multi\nline']],
      body: Buffer.from([0, 255, 0]),
      contentType: 'application/octet-stream',
    });
    for (const version of ['1.1', '1.2'] as const) {
      const [head, shared] = encodeMessage(msg, version, 'sub:1', 'ack\n2', true);
      const [decoded] = decode(Buffer.concat([head, shared]), version);
      expect(decoded).toEqual({
        command: 'MESSAGE',
        headers: [
          ['subscription', 'sub:1'],
          ['ack', 'ack\n2'],
          ['redelivered', 'true'],
          ['message-id', 'id:1'],
          ['destination', '/topic/a\\b'],
          ['content-type', 'application/octet-stream'],
          ['content-length', '3'],
          ['k:ey', 'multi\nline'],
        ],
        body: Buffer.from([0, 255, 0]),
      });
    }
  });

  it('decodes a 1.0 head + shared with values unescaped', () => {
    const [head, shared] = encodeMessage(message({ id: 'a:b\\c' }), '1.0', 's\\1', undefined, false);
    const [decoded] = decode(Buffer.concat([head, shared]), '1.0');
    expect(decoded.headers.slice(0, 2)).toEqual([
      ['subscription', 's\\1'],
      ['message-id', 'a:b\\c'],
    ]);
  });
});

describe('encodeMessage with a large body', () => {
  it('returns the body by reference, never copied, and the parts still form one valid MESSAGE frame', () => {
    const body = Buffer.alloc(64 * 1024, 'z');
    const msg = { id: 'm-1', destination: '/topic/big', headers: [['x', 'y']] as Array<[string, string]>, body, contentType: 'text/plain' };
    const parts = encodeMessage(msg, '1.2', 'sub-1', undefined, false);
    expect(parts).toHaveLength(4);
    expect(parts[2]).toBe(body);
    const frames: Frame[] = [];
    new Decoder({ frame: (f) => frames.push(f) }).push(Buffer.concat(parts));
    expect(frames).toHaveLength(1);
    expect(frames[0].body.equals(body)).toBe(true);
    expect(header(frames[0], 'content-length')).toBe(String(body.length));
    expect(header(frames[0], 'subscription')).toBe('sub-1');
    expect(encodeMessage(msg, '1.2', 'sub-2', undefined, false)[1]).toBe(parts[1]);
  });
});

describe('header names a STOMP 1.0 peer cannot parse', () => {
  it('leaves out a header whose name contains a colon when writing for 1.0, keeps it (escaped) for 1.2', () => {
    const msg = { id: 'm', destination: '/topic/a', headers: [['a:b', 'v'], ['ok', 'w']] as Array<[string, string]>, body: Buffer.from('x') };
    const decode = (version: StompVersion): Frame => {
      const frames: Frame[] = [];
      const d = new Decoder({ frame: (f) => frames.push(f) });
      d.version = version;
      d.push(Buffer.concat(encodeMessage(msg, version, 's', undefined, false)));
      return frames[0];
    };
    const old = decode('1.0');
    expect(old.headers.some(([name]) => name.startsWith('a'))).toBe(false);
    expect(header(old, 'ok')).toBe('w');
    expect(header(decode('1.2'), 'a:b')).toBe('v');
  });
});
