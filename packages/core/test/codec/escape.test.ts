import { escapeHeader, headerEscaping, unescapeHeader } from '../../src/codec/escape';
import { StompError } from '../../src/errors';

function expectEscapeError(run: () => unknown, message: string): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StompError);
  expect(caught).toMatchObject({ code: 'STOMP_ERR_BAD_ESCAPE', message });
}

describe('headerEscaping', () => {
  it('escapes per version for ordinary frames', () => {
    expect(headerEscaping('SEND', '1.2')).toBe('1.2');
    expect(headerEscaping('MESSAGE', '1.1')).toBe('1.1');
    expect(headerEscaping('MESSAGE', '1.0')).toBe('none');
  });

  it('never escapes CONNECT, STOMP or CONNECTED', () => {
    for (const command of ['CONNECT', 'STOMP', 'CONNECTED']) {
      expect(headerEscaping(command, '1.2')).toBe('none');
      expect(headerEscaping(command, '1.1')).toBe('none');
    }
  });
});

describe('escapeHeader', () => {
  it('escapes backslash, LF, CR and colon under 1.2', () => {
    expect(escapeHeader('a\\b\nc\rd:e', '1.2')).toBe('a\\\\b\\nc\\rd\\ce');
  });

  it('escapes backslash, LF and colon under 1.1, and writes a CR as a space', () => {
    expect(escapeHeader('a\\b\nc\rd:e', '1.1')).toBe('a\\\\b\\nc d\\ce');
  });

  it('escapes nothing under 1.0 but writes CR and LF as spaces', () => {
    expect(escapeHeader('a\\b\nc\rd:e', '1.0')).toBe('a\\b c d:e');
    expect(escapeHeader('a\r\nb', 'none')).toBe('a  b');
  });

  it('writes NUL as a space in every version', () => {
    expect(escapeHeader('a\0b', '1.2')).toBe('a b');
    expect(escapeHeader('a\0b', '1.1')).toBe('a b');
    expect(escapeHeader('a\0b', '1.0')).toBe('a b');
  });

  it('returns text without special characters unchanged', () => {
    const text = '/queue/zażółć-😀 and more';
    expect(escapeHeader(text, '1.2')).toBe(text);
    expect(escapeHeader(text, '1.1')).toBe(text);
    expect(escapeHeader(text, '1.0')).toBe(text);
  });

  it('escapes a special character at either end', () => {
    expect(escapeHeader(':x:', '1.2')).toBe('\\cx\\c');
    expect(escapeHeader('\\', '1.2')).toBe('\\\\');
  });
});

describe('unescapeHeader', () => {
  it('unescapes \\r \\n \\c \\\\ under 1.2', () => {
    expect(unescapeHeader('a\\rb\\nc\\cd\\\\e', '1.2')).toBe('a\rb\nc:d\\e');
  });

  it('unescapes \\n \\c \\\\ under 1.1', () => {
    expect(unescapeHeader('b\\nc\\cd\\\\e', '1.1')).toBe('b\nc:d\\e');
  });

  it('reads \\\\n as a backslash followed by n', () => {
    expect(unescapeHeader('\\\\n', '1.2')).toBe('\\n');
    expect(unescapeHeader('\\\\\\n', '1.2')).toBe('\\\n');
  });

  it('leaves text alone under 1.0 and for unescaped frames', () => {
    expect(unescapeHeader('a\\tb\\', '1.0')).toBe('a\\tb\\');
    expect(unescapeHeader('a\\tb\\', 'none')).toBe('a\\tb\\');
  });

  it('refuses \\r under 1.1', () => {
    expectEscapeError(() => unescapeHeader('a\\rb', '1.1', 'value of header "x"'), 'undefined escape sequence \\r in value of header "x" (STOMP 1.1 defines only \\n \\c \\\\)');
  });

  it('refuses an undefined escape sequence under 1.2', () => {
    expectEscapeError(() => unescapeHeader('a\\tb', '1.2'), 'undefined escape sequence \\t in header (STOMP 1.2 defines only \\r \\n \\c \\\\)');
  });

  it('shows a control character after the backslash by its code', () => {
    expectEscapeError(() => unescapeHeader('a\\\u0001', '1.2'), 'undefined escape sequence \\\\u0001 in header (STOMP 1.2 defines only \\r \\n \\c \\\\)');
  });

  it('refuses a lone trailing backslash', () => {
    expectEscapeError(() => unescapeHeader('abc\\', '1.2'), 'header ends with a lone backslash');
    expectEscapeError(() => unescapeHeader('\\\\\\', '1.1', 'header name "x"'), 'header name "x" ends with a lone backslash');
  });

  it('inverts escapeHeader', () => {
    const text = 'a\\b\nc\rd:e\\\\n\\c';
    expect(unescapeHeader(escapeHeader(text, '1.2'), '1.2')).toBe(text);
    const noCR = 'a\\b\nc:d\\n';
    expect(unescapeHeader(escapeHeader(noCR, '1.1'), '1.1')).toBe(noCR);
  });
});
