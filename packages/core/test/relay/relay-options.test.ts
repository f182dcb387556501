/** Relay options and the stomp:// URL (relay/relay-options.ts); no RabbitMQ needed. */
import { parseRelayUrl, resolveRelayOptions } from '../../src/relay/relay-options';

describe('relay options', () => {
  it('reads login, passcode, host, port and virtual host from a stomp:// URL', () => {
    expect(parseRelayUrl('stomp://app:s%40cret@127.0.0.1:61614/prod')).toEqual({ host: '127.0.0.1', port: 61614, login: 'app', passcode: 's@cret', virtualHost: 'prod' });
    expect(parseRelayUrl('stomp://127.0.0.1')).toEqual({ host: '127.0.0.1' });
  });

  it('fills every default, and explicit options win over the URL', () => {
    const resolved = resolveRelayOptions({ url: 'stomp://u:p@127.0.0.1:1234', port: 61613 });
    expect(resolved).toMatchObject({
      host: '127.0.0.1', port: 61613, login: 'u', passcode: 'p', virtualHost: '/', heartbeat: [10000, 10000],
      connections: 2, connectTimeout: 10000, reconnectDelay: 500, maxReconnectDelay: 10000, registryInterval: 2000,
      cluster: 'stompkit', controlExchange: 'amq.direct',
    });
  });

  it('refuses nonsense with a message naming the option', () => {
    expect(() => resolveRelayOptions({ connections: 0 })).toThrow('relay.connections must be a positive integer');
    expect(() => resolveRelayOptions({ url: 'http://x' })).toThrow('relay.url must use stomp://');
    expect(() => resolveRelayOptions({ cluster: 'a.b' })).toThrow('relay.cluster');
  });
});
