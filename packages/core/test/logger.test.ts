/**
 * The default logger (one readable line per entry on stderr, the stack of an `err` below it) and
 * how the `logger` option resolves. The child-process test of a server with no logger option is
 * packages/express/test/getting-started.test.ts.
 */
import { createBroker, createStderrLogger, silentLogger } from '../src';
import { formatLine, resolveLogger } from '../src/logger';

function captured(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const logger = createStderrLogger({ level, stream: { write: (text: string) => lines.push(text) } });
  return { logger, lines };
}

describe('the stderr logger', () => {
  it('writes one line with time, level, message and key=value fields, quoting values with spaces', () => {
    const line = formatLine('warn', { sessionId: 's1', user: 'ada', destination: '/topci/x', reason: "cannot subscribe to '/topci/x'", skipped: undefined }, 'SUBSCRIBE refused');
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN stompkit: SUBSCRIBE refused sessionId=s1 user=ada destination=\/topci\/x reason="cannot subscribe to '\/topci\/x'"\n$/);
  });

  it('puts the stack of an err field below the line, indented', () => {
    const err = new TypeError('boom');
    const text = formatLine('error', { err, handler: "handle('/x')" }, 'unhandled error in message handler');
    const [first, second, third] = text.split('\n');
    expect(first).toMatch(/ERROR stompkit: unhandled error in message handler err=boom handler=handle\('\/x'\)$/);
    expect(second).toBe('    TypeError: boom');
    expect(third).toMatch(/^ {8}at /);
  });

  it('keeps multi-line messages and values on one line, and serializes objects as JSON', () => {
    const text = formatLine('info', { list: ['a', 'b'], n: 3 }, 'two\nlines');
    expect(text).toMatch(/INFO stompkit: two lines list=\["a","b"\] n=3\n$/);
    expect(formatLine('warn', 'just a message')).toMatch(/WARN stompkit: just a message\n$/);
  });

  it('writes warn and error by default, and lower levels only when asked', () => {
    const quiet = captured();
    quiet.logger.debug({}, 'd');
    quiet.logger.info({}, 'i');
    quiet.logger.warn({}, 'w');
    quiet.logger.error({}, 'e');
    expect(quiet.lines.map((l) => l.split(' ')[1])).toEqual(['WARN', 'ERROR']);
    const chatty = captured('debug');
    chatty.logger.debug({}, 'd');
    expect(chatty.lines).toHaveLength(1);
  });
});

describe('the logger option', () => {
  it('is silent with false, the stderr logger when absent, and a given pino-compatible logger as is', () => {
    expect(resolveLogger(false)).toBe(silentLogger);
    expect(resolveLogger(undefined)).not.toBe(silentLogger);
    const mine = { debug() {}, info() {}, warn() {}, error() {} };
    expect(resolveLogger(mine)).toBe(mine);
  });

  it('refuses something that is not a logger', () => {
    expect(() => createBroker({ logger: { warn() {} } as never })).toThrow('logger must be pino-compatible (debug, info, warn, error functions) or false; it has no debug()');
  });
});
