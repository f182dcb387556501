/**
 * Destination names between stompkit and RabbitMQ, in one place.
 *
 * RabbitMQ's STOMP plugin routes `/topic/<routing key>` through the `amq.topic` exchange, whose
 * routing keys are words separated by '.', with `*` (exactly one word) and `#` (zero or more words)
 * as wildcards. stompkit's broker destinations use '/' between segments with `*` and `**`
 * (destinationSeparator '/'), or '.' after the last '/' (destinationSeparator '.'). The mapping:
 *
 *   ours (separator '/')        RabbitMQ
 *   /topic/chat/lobby       ⇄   /topic/chat.lobby
 *   /topic/stocks/*         →   /topic/stocks.*
 *   /topic/chat/**          →   /topic/chat.#
 *   /queue/jobs/high        ⇄   /queue/jobs.high
 *
 * With separator '.', names are already RabbitMQ's (`/topic/chat.lobby`), only `**` becomes `#`.
 * RabbitMQ-native destinations (`/exchange/…`, `/amq/queue/…`, `/temp-queue/…`,
 * `/reply-queue/…`) pass through unchanged when they are broker prefixes (see RelayBroker).
 *
 * What RabbitMQ cannot carry (refused with STOMP_ERR_DESTINATION rather than silently renamed):
 * - with separator '/': a '.' inside a segment (`/topic/v1.2/x` would come back as `/topic/v1/2/x`);
 * - a literal `#` anywhere, and `*` other than as a whole segment (`/topic/a*b`);
 * - an empty segment (`/topic/a//b`, a trailing '/');
 * - more than 255 bytes after the prefix (AMQP's limit for queue names and routing keys).
 */
import { StompError } from '../errors';
import { hasPrefix } from '../options';

export type Separator = '/' | '.';

/** Our destination → RabbitMQ's, or throws STOMP_ERR_DESTINATION when RabbitMQ cannot carry it. */
export function toRabbit(destination: string, prefix: string, separator: Separator): string {
  const rest = destination.slice(prefix.length + 1);
  if (rest.length === 0) refuse(destination, 'it names no destination below the prefix');
  const words = separator === '/' ? rest.split('/') : rest.split('.');
  if (separator === '/') {
    for (const word of words) if (word.includes('.')) refuse(destination, "'.' inside a segment would read back as a separator");
  } else if (rest.includes('/')) {
    refuse(destination, "'/' is not allowed after the prefix with destinationSeparator '.'");
  }
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.length === 0) refuse(destination, 'it has an empty segment');
    if (word.includes('#')) refuse(destination, "'#' is RabbitMQ's wildcard");
    if (word === '**') words[i] = '#';
    else if (word !== '*' && word.includes('*')) refuse(destination, "'*' must be a whole segment");
  }
  const name = words.join('.');
  // AMQP short strings: a longer queue name or routing key is a channel error, which closes the shared connection.
  if (Buffer.byteLength(name) > 255) refuse(destination, 'RabbitMQ names and routing keys are at most 255 bytes');
  return prefix + '/' + name;
}

/** RabbitMQ's destination (a MESSAGE's `destination`) → ours. */
export function fromRabbit(destination: string, prefix: string, separator: Separator): string {
  if (separator === '.') return destination;
  return prefix + '/' + destination.slice(prefix.length + 1).replaceAll('.', '/');
}

function refuse(destination: string, why: string): never {
  throw new StompError('STOMP_ERR_DESTINATION', `cannot relay '${destination}' to RabbitMQ: ${why}`);
}

/** RabbitMQ's own destination kinds, forwarded verbatim when they are broker prefixes. */
const NATIVE_PREFIXES = ['/exchange', '/amq/queue', '/temp-queue', '/reply-queue'];

/** The relay's view of destination names: which kind each is, and its name on either side. */
export class RelayDestinations {
  constructor(
    private readonly brokerPrefixes: readonly string[],
    private readonly queuePrefixes: readonly string[],
    private readonly separator: Separator,
    /** The relay's own routing keys, which clients may not use. */
    private readonly isControl: (destination: string) => boolean,
  ) {}

  /** A queue destination (competing consumers): one RabbitMQ subscription per client subscription. */
  isQueue(destination: string): boolean {
    for (const prefix of this.queuePrefixes) if (hasPrefix(destination, prefix)) return true;
    return false;
  }

  /** A RabbitMQ-native destination ('/exchange/…', '/amq/queue/…') the user made a broker prefix. */
  isNative(destination: string): boolean {
    for (const prefix of NATIVE_PREFIXES) if (hasPrefix(destination, prefix) && this.brokerPrefixes.includes(prefix)) return true;
    return false;
  }

  /** Our name → RabbitMQ's; throws STOMP_ERR_DESTINATION (or FORBIDDEN) when it cannot be relayed. */
  toRabbit(destination: string): string {
    if (this.isNative(destination)) {
      if (this.isControl(destination)) {
        throw new StompError('STOMP_ERR_FORBIDDEN', `cannot use '${destination}': it carries the relay's own traffic`);
      }
      return destination;
    }
    let prefix = '';
    for (const p of this.brokerPrefixes) if (hasPrefix(destination, p) && p.length > prefix.length) prefix = p;
    if (prefix !== '/topic' && prefix !== '/queue') {
      throw new StompError('STOMP_ERR_DESTINATION', `cannot relay '${destination}' to RabbitMQ: its destinations are /topic/…, /queue/…, /exchange/…, /amq/queue/…`);
    }
    return toRabbit(destination, prefix, this.separator);
  }

  /** RabbitMQ's name (a MESSAGE's destination) → ours. */
  fromRabbit(rabbit: string): string {
    if (hasPrefix(rabbit, '/topic')) return fromRabbit(rabbit, '/topic', this.separator);
    if (hasPrefix(rabbit, '/queue')) return fromRabbit(rabbit, '/queue', this.separator);
    return rabbit;
  }
}
