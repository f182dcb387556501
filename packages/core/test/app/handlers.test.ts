/**
 * Application destinations through the functional API (broker.handle / broker.subscribeMapping),
 * driven by raw frames over real sockets: routing, payloads, replies, validation, errors.
 */
import type { TestServer } from '../helpers/server';
import { PayloadValidationError, StompError, type StandardSchemaV1 } from '../../src';
import { Clients, expectError, json, nextMessage, sendJson, startAppServer, subscribeLive, untilReceipt } from './support';

let server: TestServer;
const clients = new Clients(() => server);

afterEach(async () => {
  clients.closeAll();
  await server?.close();
});

/** A tiny Standard Schema validator: { text: non-empty string }. */
const textSchema: StandardSchemaV1<unknown, { text: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      if (typeof value === 'object' && value !== null && typeof (value as { text?: unknown }).text === 'string' && (value as { text: string }).text.length > 0) {
        return { value: { text: (value as { text: string }).text } };
      }
      return { issues: [{ message: 'must be a non-empty string', path: ['text'] }] };
    },
  },
};

describe('message mappings', () => {
  it('passes path variables, the parsed JSON payload, headers, principal and session to an async handler, and replies on /topic + path', async () => {
    server = await startAppServer();
    const seen: unknown[] = [];
    server.broker.handle('/chat/{room}', async (message, ctx) => {
      await Promise.resolve();
      seen.push({
        payload: message.payload,
        contentType: message.contentType,
        header: message.headers['x-client'],
        params: ctx.params,
        user: ctx.user?.name,
        sessionId: ctx.sessionId,
        destination: ctx.destination,
        command: ctx.command,
        attributes: ctx.attributes instanceof Map,
      });
      return { text: message.payload.text.toUpperCase(), room: ctx.params.room };
    });
    const alice = await clients.connect('alice');
    const bob = await clients.connect('bob');
    await subscribeLive(bob, '/topic/chat/general');
    await sendJson(alice, '/app/chat/general', { text: 'hi' }, { 'x-client': 'raw' });
    const m = await nextMessage(bob);
    expect(m.headers.destination).toBe('/topic/chat/general');
    expect(m.headers['content-type']).toBe('application/json');
    expect(json(m)).toEqual({ text: 'HI', room: 'general' });
    const aliceSession = [...server.broker.sessions.values()].find((s) => s.user?.name === 'alice')!;
    expect(seen).toEqual([
      {
        payload: { text: 'hi' },
        contentType: 'application/json',
        header: 'raw',
        params: { room: 'general' },
        user: 'alice',
        sessionId: aliceSession.sessionId,
        destination: '/app/chat/general',
        command: 'SEND',
        attributes: true,
      },
    ]);
  });

  it('never publishes an application SEND to the broker', async () => {
    server = await startAppServer();
    server.broker.handle('/noop', () => undefined);
    const c = await clients.connect('alice');
    await subscribeLive(c, '/topic/noop');
    const published = server.broker.stats().published;
    await sendJson(c, '/app/noop', {});
    expect(server.broker.stats().published).toBe(published);
  });

  it("gives message.headers the SEND's user headers plus destination, content-type and content-length, as its typings say", async () => {
    server = await startAppServer();
    const seen: Array<Record<string, string>> = [];
    server.broker.handle('/headers', (m, ctx) => {
      seen.push({ ...m.headers });
      expect(ctx.headers).toBe(m.headers);
    });
    const c = await clients.connect();
    c.send('SEND', { destination: '/app/headers', 'content-type': 'application/json', 'x-trace': 't1', receipt: 'r1' }, '{"a":"é"}');
    await untilReceipt(c, 'r1');
    c.send('SEND', { destination: '/app/headers', receipt: 'r2' }, 'plain');
    await untilReceipt(c, 'r2');
    expect(seen).toEqual([
      { 'x-trace': 't1', destination: '/app/headers', 'content-type': 'application/json', 'content-length': '10' },
      { destination: '/app/headers', 'content-length': '5' },
    ]);
  });

  it("converts the payload an inbound interceptor sees the same way as the handler's", async () => {
    const views: unknown[] = [];
    server = await startAppServer({ interceptors: { inbound: [{ preSend: (m) => (m.command === 'SEND' && views.push(m.payload), m) }] } });
    server.broker.handle('/hello', () => undefined);
    const c = await clients.connect();
    c.send('SEND', { destination: '/app/hello', receipt: 'r' }, JSON.stringify({ name: 'Ada' }));
    await untilReceipt(c, 'r');
    expect(views).toEqual([{ name: 'Ada' }]);
  });

  it('gives text/* payloads as strings and others as the raw Buffer', async () => {
    server = await startAppServer();
    const payloads: unknown[] = [];
    server.broker.handle('/raw', (m) => {
      payloads.push(m.payload);
    });
    const c = await clients.connect();
    c.send('SEND', { destination: '/app/raw', 'content-type': 'text/plain', receipt: 'r1' }, 'hello');
    await untilReceipt(c, 'r1');
    c.send('SEND', { destination: '/app/raw', receipt: 'r2' }, Buffer.from([1, 2, 255]));
    await untilReceipt(c, 'r2');
    expect(payloads[0]).toBe('hello');
    expect(Buffer.isBuffer(payloads[1]) && [...(payloads[1] as Buffer)]).toEqual([1, 2, 255]);
  });

  it('sends nothing when the handler returns undefined or null', async () => {
    server = await startAppServer();
    server.broker.handle('/quiet/{n}', (m) => (m.payload.n === 1 ? null : undefined));
    server.broker.handle('/loud', () => 'marker');
    const c = await clients.connect();
    await subscribeLive(c, '/topic/quiet/a');
    await subscribeLive(c, '/topic/loud');
    expect(await sendJson(c, '/app/quiet/a', { n: 1 })).toEqual([]);
    expect(await sendJson(c, '/app/quiet/a', { n: 2 })).toEqual([]);
    const [m] = await sendJson(c, '/app/loud', {});
    expect(m.headers.destination).toBe('/topic/loud');
    expect(m.body.toString()).toBe('marker');
    expect(m.headers['content-type']).toBe('text/plain;charset=utf-8');
  });

  it('expands {var} placeholders in sendTo and sends to every listed destination', async () => {
    server = await startAppServer();
    server.broker.handle('/rooms/{room}/say', (m, ctx) => ({ said: m.payload.text, by: ctx.user?.name }), {
      sendTo: ['/topic/rooms/{room}', '/queue/audit'],
    });
    const c = await clients.connect('carol');
    await subscribeLive(c, '/topic/rooms/lobby');
    await subscribeLive(c, '/queue/audit');
    const [a, b] = await sendJson(c, '/app/rooms/lobby/say', { text: 'yo' });
    expect([a.headers.destination, b.headers.destination].sort()).toEqual(['/queue/audit', '/topic/rooms/lobby']);
    expect(json(a)).toEqual({ said: 'yo', by: 'carol' });
  });

  it('refuses a sendTo placeholder that is not a path variable at registration', async () => {
    server = await startAppServer();
    expect(() => server.broker.handle('/a/{x}', () => 1, { sendTo: '/topic/{y}' })).toThrow("uses {y}, which is not a path variable of '/a/{x}'");
  });

  it('refuses two handlers for the same pattern at registration', async () => {
    server = await startAppServer();
    server.broker.handle('/a/{x}', () => 1);
    expect(() => server.broker.handle('/a/{y}', () => 2)).toThrow("clashes with '/a/{x}'");
  });

  it('picks the most specific of several matching patterns', async () => {
    server = await startAppServer();
    server.broker.handle('/files/**', () => 'double');
    server.broker.handle('/files/{name}', () => 'var');
    server.broker.handle('/files/readme', () => 'literal');
    const c = await clients.connect();
    for (const [path, expected] of [['readme', 'literal'], ['other', 'var'], ['a/b', 'double']]) {
      await subscribeLive(c, `/topic/files/${path}`);
      const [m] = await sendJson(c, `/app/files/${path}`, {});
      expect(m.body.toString()).toBe(expected);
    }
  });

  it('serves several application prefixes', async () => {
    server = await startAppServer({ appPrefixes: ['/app', '/rpc'] });
    server.broker.handle('/ping', () => 'pong');
    const c = await clients.connect();
    await subscribeLive(c, '/topic/ping');
    const [a] = await sendJson(c, '/app/ping', {});
    const [b] = await sendJson(c, '/rpc/ping', {});
    expect([a.body.toString(), b.body.toString()]).toEqual(['pong', 'pong']);
  });

  it('answers a SEND to an unmapped application destination with ERROR and close under strictDestinations', async () => {
    server = await startAppServer({ strictDestinations: true });
    const c = await clients.connect();
    c.send('SEND', { destination: '/app/nothing', receipt: 'r' }, '{}');
    const f = await expectError(c, "cannot send to '/app/nothing': no handler is mapped to '/nothing'");
    expect(f.headers['receipt-id']).toBe('r');
  });

  it('sends the RECEIPT of a SEND only after its async handler finished', async () => {
    server = await startAppServer();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    server.broker.handle('/slow', async () => {
      started();
      await gate;
    });
    const c = await clients.connect();
    c.send('SEND', { destination: '/app/slow', receipt: 'r' }, '');
    await running;
    // The handler is suspended; a round trip on the same session is queued behind it, not answered.
    c.send('SUBSCRIBE', { id: 's', destination: '/topic/x', receipt: 'later' });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(c.frames.filter((f) => f.command === 'RECEIPT')).toEqual([]);
    release();
    await untilReceipt(c, 'r');
    await untilReceipt(c, 'later');
  });
});

describe('sendToUser replies', () => {
  it('broadcasts to every session of the sending user and nobody else', async () => {
    server = await startAppServer();
    server.broker.handle('/whoami', (_m, ctx) => ({ you: ctx.user?.name }), { sendToUser: '/queue/me' });
    const alice1 = await clients.connect('alice');
    const alice2 = await clients.connect('alice');
    const bob = await clients.connect('bob');
    for (const c of [alice1, alice2, bob]) await subscribeLive(c, '/user/queue/me');
    const [own] = await sendJson(alice1, '/app/whoami', {});
    for (const m of [own, await nextMessage(alice2)]) {
      expect(m.headers.destination).toBe('/user/queue/me');
      expect(json(m)).toEqual({ you: 'alice' });
    }
    // bob got nothing: the first frame he sees is the answer to his own request.
    const [his] = await sendJson(bob, '/app/whoami', {});
    expect(json(his)).toEqual({ you: 'bob' });
    expect(bob.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(1);
  });

  it('with broadcast false replies only to the sending session', async () => {
    server = await startAppServer();
    server.broker.handle('/private', (m) => ({ echo: m.payload.n }), { sendToUser: { destination: '/queue/reply', broadcast: false } });
    const a1 = await clients.connect('alice');
    const a2 = await clients.connect('alice');
    await subscribeLive(a1, '/user/queue/reply');
    await subscribeLive(a2, '/user/queue/reply');
    const [one] = await sendJson(a1, '/app/private', { n: 1 });
    const [two] = await sendJson(a2, '/app/private', { n: 2 });
    expect(json(one)).toEqual({ echo: 1 });
    expect(json(two)).toEqual({ echo: 2 });
    expect(a1.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(1);
    expect(a2.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(1);
  });

  it("defaults the user destination to '/queue' + the lookup path and works for anonymous sessions", async () => {
    server = await startAppServer();
    server.broker.handle('/stats/{kind}', (_m, ctx) => ({ kind: ctx.params.kind }), { sendToUser: true });
    const anon = await clients.connect();
    await subscribeLive(anon, '/user/queue/stats/cpu');
    const [m] = await sendJson(anon, '/app/stats/cpu', {});
    expect(m.headers.destination).toBe('/user/queue/stats/cpu');
    expect(json(m)).toEqual({ kind: 'cpu' });
  });
});

describe('subscribe mappings', () => {
  it('answers a SUBSCRIBE once on that subscription, before its RECEIPT, without registering it in the broker', async () => {
    server = await startAppServer();
    server.broker.subscribeMapping('/chat/{room}/history', async (_m, ctx) => [{ room: ctx.params.room, text: 'earlier', sub: ctx.subscriptionId }]);
    const c = await clients.connect('alice');
    const before = server.broker.stats();
    c.send('SUBSCRIBE', { id: 'h1', destination: '/app/chat/general/history', receipt: 'r' });
    const [reply, ...rest] = await untilReceipt(c, 'r');
    expect(rest).toEqual([]);
    expect(reply.command).toBe('MESSAGE');
    expect(reply.headers.subscription).toBe('h1');
    expect(reply.headers.destination).toBe('/app/chat/general/history');
    expect(reply.headers.ack).toBeUndefined();
    expect(json(reply)).toEqual([{ room: 'general', text: 'earlier', sub: 'h1' }]);
    const after = server.broker.stats();
    expect(after.subscriptions).toBe(before.subscriptions);
    expect(after.published).toBe(before.published);
    // The client may still UNSUBSCRIBE it (stompjs does on cleanup) without an error.
    c.send('UNSUBSCRIBE', { id: 'h1', receipt: 'u' });
    await untilReceipt(c, 'u');
  });

  it('with sendTo publishes the answer to the broker instead', async () => {
    server = await startAppServer();
    server.broker.subscribeMapping('/hello', () => 'welcome', { sendTo: '/topic/greetings' });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/greetings');
    c.send('SUBSCRIBE', { id: 'x', destination: '/app/hello', receipt: 'r' });
    const [m] = await untilReceipt(c, 'r');
    expect(m.headers.destination).toBe('/topic/greetings');
    expect(m.headers.subscription).toBe('/topic/greetings');
  });

  it('refuses a SUBSCRIBE to an unmapped application destination with ERROR and close under strictDestinations', async () => {
    server = await startAppServer({ strictDestinations: true });
    const c = await clients.connect();
    c.send('SUBSCRIBE', { id: 'x', destination: '/app/none' });
    await expectError(c, "cannot subscribe to '/app/none': no subscribe mapping for '/none'");
  });
});

describe('validation and errors', () => {
  it('validates with a Standard Schema object and hands the validated value to the handler', async () => {
    server = await startAppServer();
    server.broker.handle('/say', (m) => m.payload.text, { validate: textSchema });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/say');
    const [m] = await sendJson(c, '/app/say', { text: 'ok', extra: 1 });
    expect(m.body.toString()).toBe('ok');
  });

  it('sends an invalid payload (schema) to the exception handler, whose reply reaches the sender on /user/queue/errors', async () => {
    server = await startAppServer();
    const errors: unknown[] = [];
    server.broker.handle('/say', () => 'never', {
      validate: textSchema,
      onError: (err, m) => {
        errors.push(err);
        return { error: (err as Error).message, got: m.payload };
      },
    });
    const c = await clients.connect('alice');
    await subscribeLive(c, '/user/queue/errors');
    const [reply] = await sendJson(c, '/app/say', { text: '' });
    expect(reply.headers.destination).toBe('/user/queue/errors');
    expect(json(reply)).toEqual({ error: 'invalid payload: text: must be a non-empty string', got: { text: '' } });
    expect(errors[0]).toBeInstanceOf(PayloadValidationError);
    expect((errors[0] as PayloadValidationError).issues).toEqual([{ message: 'must be a non-empty string', path: ['text'] }]);
  });

  it('validates with a plain function (async), whose throw is an invalid payload', async () => {
    server = await startAppServer();
    const handled: unknown[] = [];
    server.broker.handle('/n', (m) => m.payload * 2, {
      validate: async (p: unknown) => {
        if (typeof (p as { n?: unknown }).n !== 'number') throw new Error('n must be a number');
        return (p as { n: number }).n;
      },
      sendTo: '/topic/n',
      onError: (err) => {
        handled.push(err);
      },
    });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/n');
    expect(await sendJson(c, '/app/n', { n: 'x' })).toEqual([]);
    const [m] = await sendJson(c, '/app/n', { n: 21 });
    expect(json(m)).toBe(42);
    expect(handled).toHaveLength(1);
    expect((handled[0] as PayloadValidationError).code).toBe('STOMP_ERR_VALIDATION');
    expect((handled[0] as Error).message).toBe('invalid payload: n must be a number');
  });

  it('reports an unhandled handler error as an ERROR-shaped MESSAGE on /user/queue/errors, withholds the RECEIPT and keeps the session', async () => {
    const logged: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (obj: unknown) => logged.push(obj) };
    server = await startAppServer({ logger });
    server.broker.handle('/boom/{id}', () => {
      throw new Error('kaboom');
    });
    server.broker.handle('/fine', () => 'fine');
    const c = await clients.connect('alice');
    await subscribeLive(c, '/user/queue/errors');
    await subscribeLive(c, '/topic/fine');
    c.send('SEND', { destination: '/app/boom/7', receipt: 'r-boom' }, '');
    const [error, ...rest] = await sendJson(c, '/app/fine', {});
    expect(error.command).toBe('MESSAGE');
    expect(error.headers).toMatchObject({
      destination: '/user/queue/errors',
      subscription: '/user/queue/errors',
      message: 'kaboom',
      code: 'STOMP_ERR_HANDLER',
      'receipt-id': 'r-boom',
      'original-command': 'SEND',
      'original-destination': '/app/boom/7',
      'content-type': 'text/plain;charset=utf-8',
    });
    expect(error.body.toString()).toBe('kaboom');
    // no RECEIPT for the failed SEND, and the session went on: the next SEND was handled.
    expect(rest.map((f) => f.headers.destination)).toEqual(['/topic/fine']);
    expect(c.frames.some((f) => f.command === 'RECEIPT' && f.headers['receipt-id'] === 'r-boom')).toBe(false);
    expect(c.closed).toBe(false);
    expect(logged).toEqual([expect.objectContaining({ handler: "handle('/boom/{id}')", destination: '/app/boom/7' })]);
  });

  it('keeps a handler that throws a (fatal by default) StompError from closing the session', async () => {
    server = await startAppServer();
    server.broker.handle('/deny', () => {
      throw new StompError('STOMP_ERR_FORBIDDEN', 'not in this room');
    });
    const c = await clients.connect();
    await subscribeLive(c, '/user/queue/errors');
    c.send('SEND', { destination: '/app/deny' }, '');
    const m = await nextMessage(c);
    expect(m.headers).toMatchObject({ code: 'STOMP_ERR_FORBIDDEN', message: 'not in this room' });
    await subscribeLive(c, '/topic/still-open');
  });

  it('reports unparseable JSON as an invalid payload', async () => {
    server = await startAppServer();
    server.broker.handle('/j', () => 'never');
    const c = await clients.connect();
    await subscribeLive(c, '/user/queue/errors');
    c.send('SEND', { destination: '/app/j', 'content-type': 'application/json' }, '{nope');
    const m = await nextMessage(c);
    expect(m.headers.code).toBe('STOMP_ERR_VALIDATION');
    expect(m.headers.message).toMatch(/^invalid payload: body is not valid JSON/);
  });

  it('uses a configured error destination, and logs only with errorDestination null', async () => {
    server = await startAppServer({ errorDestination: '/queue/oops' });
    server.broker.handle('/boom', () => {
      throw new Error('x');
    });
    const c = await clients.connect();
    await subscribeLive(c, '/user/queue/oops');
    c.send('SEND', { destination: '/app/boom' }, '');
    expect((await nextMessage(c)).headers.destination).toBe('/user/queue/oops');
    await server.close();

    server = await startAppServer({ errorDestination: null });
    server.broker.handle('/boom', () => {
      throw new Error('x');
    });
    server.broker.handle('/ok', () => 'ok');
    const d = await clients.connect();
    await subscribeLive(d, '/user/queue/errors');
    await subscribeLive(d, '/topic/ok');
    d.send('SEND', { destination: '/app/boom', receipt: 'b' }, '');
    const before = await sendJson(d, '/app/ok', {});
    expect(before.map((f) => f.headers.destination)).toEqual(['/topic/ok']);
  });

  it('treats an exception handler that throws as unhandled', async () => {
    server = await startAppServer();
    server.broker.handle('/twice', () => Promise.reject(new Error('first')), {
      onError: async () => {
        throw new Error('second');
      },
    });
    const c = await clients.connect();
    await subscribeLive(c, '/user/queue/errors');
    c.send('SEND', { destination: '/app/twice' }, '');
    expect((await nextMessage(c)).headers.message).toBe('second');
  });
});

describe('template', () => {
  it('sendToUser reaches every session of that user only, with the same conversion as handlers', async () => {
    server = await startAppServer();
    const a1 = await clients.connect('alice');
    const a2 = await clients.connect('alice');
    const b = await clients.connect('bob');
    for (const c of [a1, a2, b]) await subscribeLive(c, '/user/queue/dm');
    await server.broker.template.sendToUser('alice', '/queue/dm', { text: 'psst' }, { headers: { 'x-from': 'server' } });
    await server.broker.template.sendToUser('bob', '/queue/dm', 'marker');
    for (const c of [a1, a2]) {
      const m = await nextMessage(c);
      expect(m.headers).toMatchObject({ destination: '/user/queue/dm', 'content-type': 'application/json', 'x-from': 'server' });
      expect(json(m)).toEqual({ text: 'psst' });
    }
    expect((await nextMessage(b)).body.toString()).toBe('marker');
  });

  it('sendToUser to nobody online sends nothing and does not fail', async () => {
    server = await startAppServer();
    const published = server.broker.stats().published;
    await server.broker.template.sendToUser('ghost', '/queue/dm', 'x');
    expect(server.broker.stats().published).toBe(published);
  });
});
