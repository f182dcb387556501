/**
 * Channel interceptors over real sockets: inbound preSend may modify, drop or reject a frame (the
 * session kept or closed as the interceptor says), postSend/afterCompletion report the outcome, and
 * outbound interceptors see every MESSAGE delivery, in order, only when configured.
 */
import type { TestServer } from '../helpers/server';
import { reject, type ChannelInterceptor, type ChannelMessage } from '../../src';
import { Clients, expectError, json, nextMessage, sendJson, startAppServer, subscribeLive, untilReceipt } from '../app/support';

let server: TestServer;
const clients = new Clients(() => server);

afterEach(async () => {
  clients.closeAll();
  await server?.close();
});

function inbound(...interceptors: ChannelInterceptor[]): { interceptors: { inbound: ChannelInterceptor[] } } {
  return { interceptors: { inbound: interceptors } };
}

describe('inbound interceptors', () => {
  it('may modify a SEND: headers, body and destination', async () => {
    server = await startAppServer(
      inbound({
        preSend(message, ctx) {
          if (message.command !== 'SEND') return;
          message.headers['x-sender'] = ctx.user?.name ?? 'anonymous';
          return { ...message, destination: message.destination!.replace('/topic/draft', '/topic/published'), body: Buffer.from('rewritten') };
        },
      }),
    );
    const c = await clients.connect('alice');
    await subscribeLive(c, '/topic/published');
    const [m] = await sendJson(c, '/topic/draft', { any: 1 });
    expect(m.headers).toMatchObject({ destination: '/topic/published', 'x-sender': 'alice' });
    expect(m.body.toString()).toBe('rewritten');
  });

  it('sees the payload, parsed per content-type', async () => {
    const payloads: unknown[] = [];
    server = await startAppServer(
      inbound({
        preSend(message) {
          if (message.command === 'SEND') payloads.push(message.payload);
        },
      }),
    );
    const c = await clients.connect();
    await sendJson(c, '/topic/x', { a: [1] });
    expect(payloads).toEqual([{ a: [1] }]);
  });

  it('may drop a frame silently: no effect, but the RECEIPT still comes', async () => {
    server = await startAppServer(inbound({ preSend: (m) => (m.destination === '/topic/secret' ? null : m) }));
    const c = await clients.connect();
    await subscribeLive(c, '/topic/secret', 'dropped-sub');
    await subscribeLive(c, '/topic/open');
    const published = server.broker.stats().published;
    expect(await sendJson(c, '/topic/secret', 'x')).toEqual([]);
    expect(server.broker.stats().published).toBe(published);
    // The dropped SUBSCRIBE registered nothing in the broker.
    expect(server.broker.stats().subscriptions).toBe(1);
    const [m] = await sendJson(c, '/topic/open', 'y');
    expect(m.headers.destination).toBe('/topic/open');
  });

  it('may reject a SUBSCRIBE keeping the session: an ERROR-shaped MESSAGE, no RECEIPT, nothing registered', async () => {
    const completions: Array<[string, unknown]> = [];
    server = await startAppServer(
      inbound({
        preSend: (m, ctx) =>
          m.command === 'SUBSCRIBE' && m.destination === '/topic/admin' && ctx.user?.name !== 'root'
            ? reject('admins only', { close: false })
            : m,
        afterCompletion: (m, _ctx, error) => completions.push([m.command, error]),
      }),
    );
    const c = await clients.connect('alice');
    await subscribeLive(c, '/user/queue/errors');
    c.send('SUBSCRIBE', { id: 'adm', destination: '/topic/admin', receipt: 'r-adm' });
    const error = await nextMessage(c);
    expect(error.headers).toMatchObject({
      destination: '/user/queue/errors',
      message: 'admins only',
      code: 'STOMP_ERR_FORBIDDEN',
      'receipt-id': 'r-adm',
      'original-command': 'SUBSCRIBE',
      'original-destination': '/topic/admin',
      'original-subscription': 'adm',
    });
    expect(error.body.toString()).toBe('admins only');
    expect(server.broker.stats().subscriptions).toBe(1);
    // Nothing registered in the session either: the same id is free, and the session is alive.
    await subscribeLive(c, '/topic/lobby', 'adm');
    expect(c.frames.some((f) => f.headers['receipt-id'] === 'r-adm' && f.command === 'RECEIPT')).toBe(false);
    // A rejected preSend is not 'passed': afterCompletion ran for the successful frames only.
    expect(completions.map(([command, error]) => [command, error === undefined])).toEqual([
      ['CONNECT', true],
      ['SUBSCRIBE', true],
      ['SUBSCRIBE', true],
    ]);
  });

  it('may reject a SEND keeping the session, and other frames go on', async () => {
    server = await startAppServer(inbound({ preSend: (m) => (m.headers['x-bad'] ? reject('bad header', { close: false, code: 'STOMP_ERR_BAD_HEADER' }) : undefined) }));
    const c = await clients.connect();
    await subscribeLive(c, '/user/queue/errors');
    await subscribeLive(c, '/topic/t');
    c.send('SEND', { destination: '/topic/t', 'x-bad': '1' }, 'no');
    const [error, ok] = await sendJson(c, '/topic/t', 'yes');
    expect(error.headers).toMatchObject({ code: 'STOMP_ERR_BAD_HEADER', 'original-destination': '/topic/t' });
    expect(ok.body.toString()).toBe('"yes"');
  });

  it('may reject with ERROR and close (the default)', async () => {
    server = await startAppServer(inbound({ preSend: (m) => (m.command === 'SEND' ? reject('read-only session') : m) }));
    const c = await clients.connect();
    c.send('SEND', { destination: '/topic/t', receipt: 'r' }, 'x');
    const f = await expectError(c, 'read-only session');
    expect(f.headers['receipt-id']).toBe('r');
  });

  it('may be async, and frames keep their order behind it', async () => {
    server = await startAppServer(
      inbound({
        async preSend(m) {
          if (m.command !== 'SEND') return m;
          await new Promise<void>((resolve) => setImmediate(resolve));
          return (m.payload as { n: number }).n === 2 ? reject('two is forbidden', { close: false }) : m;
        },
      }),
    );
    const c = await clients.connect();
    await subscribeLive(c, '/user/queue/errors');
    await subscribeLive(c, '/topic/seq');
    for (const n of [1, 2, 3]) c.send('SEND', { destination: '/topic/seq', 'content-type': 'application/json' }, JSON.stringify({ n }));
    const frames = await sendJson(c, '/topic/seq', { n: 4 });
    expect(frames.map((f) => (f.headers.destination === '/user/queue/errors' ? 'error' : (json(f) as { n: number }).n))).toEqual([1, 'error', 3, 4]);
  });

  it('calls postSend(sent) and afterCompletion in reverse order, with the error when a later interceptor rejects', async () => {
    const calls: string[] = [];
    const tracer = (name: string): ChannelInterceptor => ({
      preSend: (m) => {
        if (m.command === 'SEND') calls.push(`${name}.pre`);
      },
      postSend: (m, _c, sent) => {
        if (m.command === 'SEND') calls.push(`${name}.post(${sent})`);
      },
      afterCompletion: (m, _c, err) => {
        if (m.command === 'SEND') calls.push(`${name}.after(${err === undefined ? '' : (err as Error).message})`);
      },
    });
    const gate: ChannelInterceptor = {
      preSend: (m: ChannelMessage) => (m.destination === '/topic/drop' ? null : m.destination === '/topic/deny' ? reject('denied', { close: false }) : m),
    };
    server = await startAppServer(inbound(tracer('a'), tracer('b'), gate));
    const c = await clients.connect();
    await sendJson(c, '/topic/ok', 1);
    expect(calls.splice(0)).toEqual(['a.pre', 'b.pre', 'b.post(true)', 'a.post(true)', 'b.after()', 'a.after()']);
    await sendJson(c, '/topic/drop', 1);
    expect(calls.splice(0)).toEqual(['a.pre', 'b.pre', 'b.post(false)', 'a.post(false)', 'b.after()', 'a.after()']);
    c.send('SEND', { destination: '/topic/deny' }, '');
    await sendJson(c, '/topic/ok', 1);
    expect(calls.splice(0, 4)).toEqual(['a.pre', 'b.pre', 'b.after(denied)', 'a.after(denied)']);
  });

  it('refuses a CONNECT with ERROR and close whatever the close option says', async () => {
    server = await startAppServer(inbound({ preSend: (m) => (m.command === 'CONNECT' && m.headers.login === 'banned' ? reject('banned', { close: false }) : m) }));
    const connects: string[] = [];
    server.broker.on('connect', (s) => connects.push(s.user!.name));
    await expect(clients.connect('banned')).rejects.toThrow('expected CONNECTED, got ERROR: banned');
    await clients.connect('fine');
    expect(connects).toEqual(['fine']);
  });

  it('cannot veto UNSUBSCRIBE', async () => {
    server = await startAppServer(inbound({ preSend: (m) => (m.command === 'UNSUBSCRIBE' ? reject('stay subscribed') : m) }));
    const c = await clients.connect();
    await subscribeLive(c, '/topic/t', 's');
    c.send('UNSUBSCRIBE', { id: 's', receipt: 'u' });
    await untilReceipt(c, 'u');
    expect(server.broker.stats().subscriptions).toBe(0);
  });

  it('sees ACK frames with their headers', async () => {
    const acks: Array<Record<string, string>> = [];
    server = await startAppServer(inbound({ preSend: (m) => void (m.command === 'ACK' && acks.push({ ...m.headers })) }));
    const c = await clients.connect();
    await subscribeLive(c, '/queue/jobs', 'j', { ack: 'client-individual' });
    await server.broker.template.send('/queue/jobs', 'job');
    const m = await nextMessage(c);
    c.send('ACK', { id: m.headers.ack, receipt: 'a' });
    await untilReceipt(c, 'a');
    expect(acks).toEqual([{ id: m.headers.ack, receipt: 'a' }]);
    expect(server.broker.stats().unacked).toBe(0);
  });
});

describe('outbound interceptors', () => {
  it('are not in the delivery path unless configured', async () => {
    server = await startAppServer();
    await clients.connect();
    const session = [...server.broker.sessions.values()][0];
    expect(server.broker.channel.outbound.consumer(session)).toBe(session);
  });

  it('see each MESSAGE per session and may modify or drop it', async () => {
    server = await startAppServer({
      interceptors: {
        outbound: [
          {
            preSend(message, ctx) {
              if (ctx.user?.name === 'muted') return null;
              message.headers['x-for'] = ctx.user?.name ?? '?';
              return message;
            },
          },
        ],
      },
    });
    const alice = await clients.connect('alice');
    const bob = await clients.connect('bob');
    const muted = await clients.connect('muted');
    for (const c of [alice, bob, muted]) await subscribeLive(c, '/topic/news');
    await server.broker.template.send('/topic/news', { headline: 'hi' }, { headers: { 'x-source': 'wire' } });
    await server.broker.template.send('/topic/other', 'not subscribed');
    for (const [c, name] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const m = await nextMessage(c);
      expect(m.headers).toMatchObject({ 'x-for': name, 'x-source': 'wire', destination: '/topic/news', subscription: '/topic/news' });
      expect(json(m)).toEqual({ headline: 'hi' });
    }
    await subscribeLive(muted, '/topic/after');
    expect(muted.frames.filter((f) => f.command === 'MESSAGE')).toEqual([]);
  });

  it('keep per-session order when async, and acknowledge what they drop', async () => {
    let releaseFirst!: () => void;
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    server = await startAppServer({
      interceptors: {
        outbound: [
          {
            async preSend(message) {
              const n = (message.payload as { n: number }).n;
              if (n === 1) await first;
              return n === 3 ? null : message;
            },
          },
        ],
      },
    });
    const c = await clients.connect();
    await subscribeLive(c, '/queue/q', 'q', { ack: 'client-individual' });
    for (const n of [1, 2, 3, 4]) await server.broker.template.send('/queue/q', { n });
    releaseFirst();
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await nextMessage(c);
      seen.push((json(m) as { n: number }).n);
      c.send('ACK', { id: m.headers.ack });
    }
    expect(seen).toEqual([1, 2, 4]);
    await subscribeLive(c, '/topic/sync');
    expect(server.broker.stats().unacked).toBe(0);
  });

  it('apply to user destinations and subscribe-mapping replies too', async () => {
    const seen: string[] = [];
    server = await startAppServer({
      interceptors: { outbound: [{ preSend: (m) => void seen.push(`${m.destination} ${m.subscriptionId}`) }] },
    });
    server.broker.subscribeMapping('/init', () => 'hello');
    const c = await clients.connect('alice');
    await subscribeLive(c, '/user/queue/dm', 'dm');
    c.send('SUBSCRIBE', { id: 'init', destination: '/app/init', receipt: 'r' });
    await untilReceipt(c, 'r');
    await server.broker.template.sendToUser('alice', '/queue/dm', 'x');
    await nextMessage(c);
    expect(seen).toEqual(['/app/init init', '/user/queue/dm dm']);
  });

  it('may reject a delivery and close the session', async () => {
    server = await startAppServer({ interceptors: { outbound: [{ preSend: (m) => (m.destination === '/topic/poison' ? reject('poisoned') : m) }] } });
    const c = await clients.connect();
    await subscribeLive(c, '/topic/poison');
    await server.broker.template.send('/topic/poison', 'x');
    await expectError(c, 'poisoned');
  });
});
