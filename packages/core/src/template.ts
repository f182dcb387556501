/**
 * The messaging template: publish from application code (HTTP routes, timers, jobs) with the
 * same payload conversion everywhere (message-converter.ts; by default a Buffer/Uint8Array goes
 * as bytes (application/octet-stream unless told otherwise), a string as text/plain, anything
 * else as JSON; the broker's `messageConverters` option changes it here and for handler replies).
 */
import type { BrokerMessage } from './broker/types';
import { DEFAULT_CONVERTER, type CompositeMessageConverter } from './message-converter';
import { SERVER_OWNED_HEADERS, type HeaderList } from './codec/frame';
import { encodeUserName } from './user/user-destinations';

export type Payload = Buffer | Uint8Array | string | number | boolean | null | object;

export interface SendOptions {
  /** Extra message headers (user headers; server-owned ones such as destination are ignored). */
  headers?: Record<string, string | number | boolean>;
  /** Overrides the content-type chosen from the payload's type. */
  contentType?: string;
}

/** Converts an application payload to a message body and content type with the default converters. */
export function toBody(payload: Payload, contentType?: string): { body: Buffer; contentType: string } {
  return DEFAULT_CONVERTER.toMessage(payload, contentType);
}

export function toHeaderList(headers: SendOptions['headers']): HeaderList {
  const list: HeaderList = [];
  if (headers === undefined) return list;
  for (const name of Object.keys(headers)) {
    if (!SERVER_OWNED_HEADERS.has(name)) list.push([name, String(headers[name])]);
  }
  return list;
}

export class MessagingTemplate {
  constructor(
    private readonly publish: (message: BrokerMessage) => void | Promise<void>,
    private readonly nextId: () => string,
    /** The user destination prefix, for sendToUser. Default '/user'. */
    readonly userPrefix = '/user',
    /** How payloads become bodies (the broker's `messageConverters`). */
    readonly converter: CompositeMessageConverter = DEFAULT_CONVERTER,
  ) {}

  /** Publishes `payload` to `destination`. Resolves once the broker accepted it. */
  async send(destination: string, payload: Payload, options: SendOptions = {}): Promise<void> {
    await this.publish(this.createMessage(destination, payload, options));
  }

  /**
   * Publishes to every session of user `user` that subscribed to `destination` under the user
   * prefix: `sendToUser('alice', '/queue/dm', p)` reaches alice's `/user/queue/dm` subscriptions
   * and nobody else's (it sends to '/user/alice/queue/dm'; '/' in a name is written '%2F').
   * An anonymous session is addressed by its session id. Nobody online: nothing is sent.
   */
  async sendToUser(user: string, destination: string, payload: Payload, options: SendOptions = {}): Promise<void> {
    if (typeof destination !== 'string' || !destination.startsWith('/')) {
      throw new TypeError(`sendToUser destinations start with '/', got ${JSON.stringify(destination)}`);
    }
    await this.send(`${this.userPrefix}/${encodeUserName(user)}${destination}`, payload, options);
  }

  createMessage(destination: string, payload: Payload, options: SendOptions = {}): BrokerMessage {
    const { body, contentType } = this.converter.toMessage(payload, options.contentType);
    return { id: this.nextId(), destination, headers: toHeaderList(options.headers), body, contentType };
  }
}
