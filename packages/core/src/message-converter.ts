/**
 * Message conversion, both ways, in one place: a body and its content-type → the payload a handler
 * (or an interceptor's `payload` view) sees, and a payload from application code (template, handler
 * replies) → a body and content-type. Spring's defaults (SimpleMessageConverter,
 * StringMessageConverter, MappingJackson2MessageConverter), so a frontend written against Spring
 * gets the same objects:
 *
 * | content-type                 | handler payload                                        |
 * | ---------------------------- | ------------------------------------------------------ |
 * | `application/json`, `*+json` | the parsed JSON (an invalid body refuses the frame, non-fatal) |
 * | `text/*`                     | the body as a UTF-8 string                              |
 * | `application/octet-stream`   | the `Buffer`                                            |
 * | none                         | JSON when the body parses as JSON; else a UTF-8 string; the `Buffer` only when it is not valid UTF-8 |
 * | anything else                | the `Buffer`                                            |
 *
 * The no-content-type row exists because @stomp/stompjs's `publish({ body: JSON.stringify(x) })`
 * sends no content-type, and Spring's JSON converter still reads such a body.
 *
 * Replies: a `Buffer`/`Uint8Array` → bytes (`application/octet-stream`), a string → text
 * (`text/plain;charset=utf-8`), anything else → JSON (`application/json`); an explicit
 * `contentType` replaces the chosen one.
 *
 * Custom converters (option `messageConverters`) are asked first, in order; each returns
 * `undefined` for what it does not handle, and the next one is asked. A function option receives
 * the default list and returns the list to use (to replace or reorder the defaults).
 */
import { isUtf8 } from 'node:buffer';
import { PayloadValidationError } from './app/payload';

/** A converted outgoing payload. */
export interface ConvertedBody {
  body: Buffer;
  contentType: string;
}

/**
 * One converter. Both methods are optional; returning `undefined` means "not mine" (the next
 * converter is asked), so a converter never produces `undefined` as a payload.
 */
export interface MessageConverter {
  /** Body → payload. `contentType` is the frame's header as sent (undefined when absent); `mediaType` is its lower-case type without parameters. */
  fromMessage?(body: Buffer, contentType: string | undefined, mediaType: string | undefined): unknown;
  /** Payload → body. `contentType` is the one the caller asked for (`SendOptions.contentType`), if any. */
  toMessage?(payload: unknown, contentType: string | undefined): ConvertedBody | undefined;
}

/**
 * `createBroker({ messageConverters })`: an array is tried before the defaults (extend); a function
 * gets the defaults and returns the full list (replace). Default: the defaults alone.
 */
export type MessageConvertersOption = MessageConverter[] | ((defaults: MessageConverter[]) => MessageConverter[]);

const TEXT_PLAIN = 'text/plain;charset=utf-8';
const OCTET_STREAM = 'application/octet-stream';
const APPLICATION_JSON = 'application/json';

function isJsonType(type: string): boolean {
  return type === APPLICATION_JSON || type.endsWith('+json');
}

/** `application/octet-stream` → Buffer; Buffer/Uint8Array → bytes. */
export const bytesConverter: MessageConverter = {
  fromMessage(body, _contentType, type) {
    return type === OCTET_STREAM ? body : undefined;
  },
  toMessage(payload, contentType) {
    if (Buffer.isBuffer(payload)) return { body: payload, contentType: contentType ?? OCTET_STREAM };
    if (payload instanceof Uint8Array) {
      return { body: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), contentType: contentType ?? OCTET_STREAM };
    }
    return undefined;
  },
};

/** `text/*` → string; string → `text/plain;charset=utf-8`. */
export const stringConverter: MessageConverter = {
  fromMessage(body, _contentType, type) {
    return type !== undefined && type.startsWith('text/') ? body.toString('utf8') : undefined;
  },
  toMessage(payload, contentType) {
    return typeof payload === 'string' ? { body: Buffer.from(payload, 'utf8'), contentType: contentType ?? TEXT_PLAIN } : undefined;
  },
};

/** `application/json` and `+json` → parsed (invalid JSON is a non-fatal PayloadValidationError); anything → JSON. */
export const jsonConverter: MessageConverter = {
  fromMessage(body, _contentType, type) {
    if (type === undefined || !isJsonType(type)) return undefined;
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new PayloadValidationError([{ message: `body is not valid JSON (${(err as Error).message})` }], err);
    }
  },
  toMessage(payload, contentType) {
    const json = JSON.stringify(payload);
    return { body: Buffer.from(json === undefined ? 'null' : json, 'utf8'), contentType: contentType ?? APPLICATION_JSON };
  },
};

/** No content-type: JSON if it parses, else a UTF-8 string, else (not valid UTF-8) the Buffer. */
export const noContentTypeConverter: MessageConverter = {
  fromMessage(body, contentType) {
    if (contentType !== undefined) return undefined;
    if (!isUtf8(body)) return body;
    const text = body.toString('utf8');
    if (looksLikeJson(text)) {
      try {
        return JSON.parse(text);
      } catch {
        // not JSON after all: the text
      }
    }
    return text;
  },
};

/** Any other content-type: the Buffer, untouched. */
export const fallbackConverter: MessageConverter = {
  fromMessage(body) {
    return body;
  },
};

/** The defaults, in the order they are asked. */
export function defaultConverters(): MessageConverter[] {
  return [bytesConverter, stringConverter, jsonConverter, noContentTypeConverter, fallbackConverter];
}

/** Cheap pre-check before JSON.parse: JSON text starts with one of `{ [ " - 0-9 t f n` after whitespace. */
function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    return c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110;
  }
  return false;
}

export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The converter chain a broker uses (handlers, interceptors' payload view, template, handler replies). */
export class CompositeMessageConverter {
  readonly converters: readonly MessageConverter[];
  private readonly readers: MessageConverter[];
  private readonly writers: MessageConverter[];

  constructor(option?: MessageConvertersOption) {
    const defaults = defaultConverters();
    let list: MessageConverter[];
    if (option === undefined) list = defaults;
    else if (typeof option === 'function') list = option(defaults);
    else if (Array.isArray(option)) list = [...option, ...defaults];
    else throw new TypeError('messageConverters must be an array of converters or a function (defaults) => converters');
    if (!Array.isArray(list) || list.some((c) => c === null || typeof c !== 'object')) {
      throw new TypeError('messageConverters must produce an array of converter objects ({ fromMessage?, toMessage? })');
    }
    this.converters = list;
    this.readers = list.filter((c) => typeof c.fromMessage === 'function');
    this.writers = list.filter((c) => typeof c.toMessage === 'function');
  }

  /** Body → payload; the Buffer when no converter takes it. May throw PayloadValidationError. */
  fromMessage(body: Buffer, contentType: string | undefined): unknown {
    const type = mediaTypeOf(contentType);
    const readers = this.readers;
    for (let i = 0; i < readers.length; i++) {
      const value = readers[i].fromMessage!(body, contentType, type);
      if (value !== undefined) return value;
    }
    return body;
  }

  /** Payload → body; throws when no converter takes it (only possible when the defaults were removed). */
  toMessage(payload: unknown, contentType?: string): ConvertedBody {
    const writers = this.writers;
    for (let i = 0; i < writers.length; i++) {
      const out = writers[i].toMessage!(payload, contentType);
      if (out !== undefined) return out;
    }
    throw new TypeError(`no message converter can write a payload of type ${payload === null ? 'null' : typeof payload}`);
  }
}

/** The defaults, shared by everything that does not configure its own. */
export const DEFAULT_CONVERTER = new CompositeMessageConverter();
