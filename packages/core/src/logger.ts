/**
 * The logging seam: pino-compatible (`logger.warn(obj, msg)` or `logger.warn(msg)`), quiet by
 * default. Library code never calls console.
 */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

function noop(): void {}

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
