/**
 * Mistakes caught when a mapping is registered (AppDispatcher.register), before any client
 * connects: the application prefix repeated in a pattern, reply destinations outside the broker
 * and user destinations, malformed patterns. Each message says what to write instead.
 */
import { createBroker, MessageMapping, SendTo, SendToUser, type StompBroker } from '../../src';

let broker: StompBroker;

beforeEach(() => {
  broker = createBroker({ logger: false });
});

afterEach(async () => {
  await broker.close();
});

const reply = (): string => 'ok';

describe('handle() and subscribeMapping() refuse at registration', () => {
  it('a pattern that repeats the application prefix, saying to drop it', () => {
    expect(() => broker.handle('/app/hello', reply)).toThrow(
      "handle('/app/hello'): patterns are relative to the application prefix '/app'; write '/hello' (clients then use '/app/hello')",
    );
    expect(() => broker.subscribeMapping('/app/rooms/{room}', reply)).toThrow("write '/rooms/{room}'");
    expect(() => broker.handle('/application', reply)).not.toThrow(); // only a whole segment is the prefix
  });

  it('a prefix repeated under another configured application prefix too', async () => {
    const other = createBroker({ logger: false, appPrefixes: ['/app', '/api'] });
    try {
      expect(() => other.handle('/api/x', reply)).toThrow("application prefix '/api'; write '/x'");
    } finally {
      await other.close();
    }
  });

  it('a sendTo outside the broker and user destinations, suggesting the /topic one', () => {
    expect(() => broker.handle('/hello', reply, { sendTo: '/greetings' })).toThrow(
      "handle('/hello'): sendTo '/greetings' is not a broker destination (those start with a broker prefix) or a user destination ('/user/{name}/…'); write for example '/topic/greetings'",
    );
    expect(() => broker.handle('/hello', reply, { sendTo: '/app/greetings' })).toThrow("write for example '/topic/greetings'");
    expect(() => broker.handle('/hello', reply, { sendTo: ['/topic/greetings', '/queue/audit', '/user/{name}/queue/x'] })).toThrow(
      'uses {name}, which is not a path variable',
    );
    expect(() => broker.handle('/hi/{name}', reply, { sendTo: ['/topic/greetings', '/queue/audit', '/user/{name}/queue/x'] })).not.toThrow();
  });

  it('a sendToUser that is not a broker destination, or repeats the user prefix', () => {
    expect(() => broker.handle('/me', reply, { sendToUser: '/user/queue/me' })).toThrow(
      "handle('/me'): sendToUser '/user/queue/me' must be a broker destination such as '/queue/…'; write '/queue/me' (the user prefix is added for you)",
    );
    expect(() => broker.handle('/me', reply, { sendToUser: { destination: '/replies' } })).toThrow("write '/queue/replies'");
    expect(() => broker.handle('/me', reply, { sendToUser: '/queue/me' })).not.toThrow();
  });

  it('malformed patterns: stray braces, empty segments, ***', () => {
    expect(() => broker.handle('/chat/{room', reply)).toThrow(
      "malformed destination pattern '/chat/{room': '{room' is not a path variable; write a variable as {name} (a letter, _ or $ then letters, digits, _ or $), e.g. '/chat/{room}'",
    );
    expect(() => broker.handle('/chat/{room-id}', reply)).toThrow("'{room-id}' is not a path variable");
    expect(() => broker.handle('/chat/{}', reply)).toThrow("'{}' is not a path variable");
    expect(() => broker.handle('/chat/room}', reply)).toThrow("'}' is not a path variable");
    expect(() => broker.handle('/chat//room', reply)).toThrow("it has an empty segment; write '/chat/room'");
    expect(() => broker.handle('/files/***', reply)).toThrow("use '*' (within one segment) or '**' (across segments), not '***'");
  });
});

describe('controllers() refuses at registration', () => {
  /** A controller class decorated by hand (experimentalDecorators style). */
  function controller(pattern: string, sendTo?: string, sendToUser?: string): object {
    class Greeter {
      greet(): string {
        return 'hi';
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Greeter.prototype, 'greet')!;
    MessageMapping(pattern)(Greeter.prototype, 'greet', descriptor);
    if (sendTo !== undefined) SendTo(sendTo)(Greeter.prototype, 'greet', descriptor);
    if (sendToUser !== undefined) SendToUser(sendToUser)(Greeter.prototype, 'greet', descriptor);
    return new Greeter();
  }

  it('a @MessageMapping that repeats the application prefix', () => {
    expect(() => broker.controllers(controller('/app/greet'))).toThrow("Greeter.greet: patterns are relative to the application prefix '/app'; write '/greet'");
  });

  it('a @SendTo or @SendToUser outside the broker destinations, registering nothing of the controller', () => {
    expect(() => broker.controllers(controller('/greet'), controller('/wave', '/waves'))).toThrow("Greeter.greet: sendTo '/waves' is not a broker destination");
    expect(() => broker.handle('/greet', reply)).not.toThrow(); // the first controller was not registered either
    expect(() => broker.controllers(controller('/dm', undefined, '/user/queue/dm'))).toThrow("write '/queue/dm'");
  });
});
