/**
 * The logging seam: pino-compatible (`logger.warn(obj, msg)` or `logger.warn(msg)`). Library code
 * never calls console.
 *
 * Without a `logger` option the broker logs warnings and errors to stderr, one readable line each
 * (`<ISO time> WARN stompkit: <message> key=value …`), followed by the stack, indented, when the
 * fields carry an `err`: refused frames, refused upgrades, handler exceptions and slow consumers
 * are what a new user needs to see. `logger: false` (or {@link silentLogger}) is silence; any
 * pino-compatible logger replaces it.
 */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** `createBroker({ logger })`: a pino-compatible logger, or `false` for none. Default: warnings and errors to stderr. */
export type LoggerOption = Logger | false;

function noop(): void {}

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

export interface StderrLoggerOptions {
  /** Lowest level written. Default 'warn'. */
  level?: LogLevel;
  /** Where lines go. Default process.stderr. */
  stream?: { write(text: string): unknown };
}

/** The default logger: one line per entry on stderr (plus the stack of an `err` field). */
export function createStderrLogger(options: StderrLoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'warn'];
  if (threshold === undefined) throw new TypeError(`level must be one of ${Object.keys(LEVELS).join(', ')}, got ${String(options.level)}`);
  const stream = options.stream ?? process.stderr;
  const at = (level: LogLevel) =>
    LEVELS[level] < threshold
      ? noop
      : (obj: unknown, msg?: string): void => {
          try {
            stream.write(formatLine(level, obj, msg));
          } catch {
            // a closed stderr must never break the broker
          }
        };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function resolveLogger(option: LoggerOption | undefined): Logger {
  if (option === false) return silentLogger;
  if (option === undefined) return createStderrLogger();
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof option[level] !== 'function') throw new TypeError(`logger must be pino-compatible (debug, info, warn, error functions) or false; it has no ${level}()`);
  }
  return option;
}

/** `2026-01-01T00:00:00.000Z WARN stompkit: frame refused sessionId=… destination=/topci/x` */
export function formatLine(level: LogLevel, obj: unknown, msg?: string): string {
  let text: string;
  let fields: Record<string, unknown> | undefined;
  if (typeof obj === 'string') text = obj;
  else {
    text = msg ?? '';
    if (obj instanceof Error) fields = { err: obj };
    else if (obj !== null && typeof obj === 'object') fields = obj as Record<string, unknown>;
  }
  let line = `${new Date().toISOString()} ${level.toUpperCase()} stompkit: ${oneLine(text)}`;
  let stack = '';
  if (fields !== undefined) {
    for (const key of Object.keys(fields)) {
      const value = fields[key];
      if (value === undefined) continue;
      if (value instanceof Error) {
        line += ` ${key}=${quote(value.message || value.name)}`;
        if (value.stack) stack += '\n' + value.stack.replace(/^/gm, '    ');
        continue;
      }
      line += ` ${key}=${quote(typeof value === 'string' ? value : safeJson(value))}`;
    }
  }
  return line + stack + '\n';
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function quote(value: string): string {
  const flat = oneLine(value);
  return flat === '' || /\s/.test(flat) ? JSON.stringify(flat) : flat;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
