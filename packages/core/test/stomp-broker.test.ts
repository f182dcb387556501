/**
 * StompBroker's own wiring of the in-memory broker: what `simpleBroker` options reach it.
 */
import { startServer, type TestServer } from './helpers/server';
import { RawClient } from './helpers/raw-client';

describe('createBroker({ simpleBroker: { onConsumerError } })', () => {
  let server: TestServer;
  afterEach(() => server.close());

  it("receives what an in-process subscriber throws, instead of the default log, while the client's delivery goes on", async () => {
    const errors: Array<[string, string]> = [];
    server = await startServer({ simpleBroker: { onConsumerError: (err, sessionId) => errors.push([(err as Error).message, sessionId]) } });
    server.broker.subscribe('/topic/t', () => {
      throw new Error('subscriber bug');
    });
    const client = await RawClient.connect(server.url);
    client.send('SUBSCRIBE', { id: '0', destination: '/topic/t', receipt: 'sub' });
    await client.expect('RECEIPT');
    client.send('SEND', { destination: '/topic/t' }, 'hello');
    const message = await client.expect('MESSAGE');
    expect(message.body.toString()).toBe('hello');
    await client.waitFor(() => errors.length === 1, 3000, 'the consumer error');
    expect(errors).toEqual([['subscriber bug', 'in-process-1']]);
    client.close();
  });
});
