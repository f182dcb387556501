/** Destination names between stompkit and RabbitMQ (relay/destination-map.ts); no RabbitMQ needed. */
import { fromRabbit, toRabbit } from '../../src/relay/destination-map';
import { StompError } from '../../src/errors';

describe('destination mapping', () => {
  it('maps / segments to RabbitMQ words and ** to #, and back', () => {
    expect(toRabbit('/topic/chat/lobby', '/topic', '/')).toBe('/topic/chat.lobby');
    expect(toRabbit('/topic/stocks/*', '/topic', '/')).toBe('/topic/stocks.*');
    expect(toRabbit('/topic/chat/**', '/topic', '/')).toBe('/topic/chat.#');
    expect(toRabbit('/topic/**', '/topic', '/')).toBe('/topic/#');
    expect(toRabbit('/queue/jobs/high', '/queue', '/')).toBe('/queue/jobs.high');
    expect(fromRabbit('/topic/chat.lobby', '/topic', '/')).toBe('/topic/chat/lobby');
    expect(fromRabbit('/queue/jobs.high', '/queue', '/')).toBe('/queue/jobs/high');
  });

  it('keeps dotted names as they are with destinationSeparator "."', () => {
    expect(toRabbit('/topic/chat.lobby', '/topic', '.')).toBe('/topic/chat.lobby');
    expect(toRabbit('/topic/chat.**', '/topic', '.')).toBe('/topic/chat.#');
    expect(fromRabbit('/topic/chat.lobby', '/topic', '.')).toBe('/topic/chat.lobby');
  });

  it.each([
    ['/topic/v1.2/x', "'.' inside a segment"],
    ['/topic/a#', "'#' is RabbitMQ's wildcard"],
    ['/topic/a*b', "'*' must be a whole segment"],
    ['/topic/a//b', 'empty segment'],
    ['/topic/a/', 'empty segment'],
    ['/topic', 'no destination below the prefix'],
    [`/topic/${'x'.repeat(256)}`, 'at most 255 bytes'],
  ])('refuses %s, which RabbitMQ cannot carry', (destination, why) => {
    let error: unknown;
    try {
      toRabbit(destination, '/topic', '/');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StompError);
    expect((error as StompError).code).toBe('STOMP_ERR_DESTINATION');
    expect((error as StompError).message).toContain(why);
  });
});
