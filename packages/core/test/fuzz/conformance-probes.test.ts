/**
 * The raw-frame probes that found stomp-broker-js 1.3.0's crash and conformance bugs (when we
 * reviewed the Node peers), replayed against our server; each asserts what STOMP 1.2
 * requires instead. After every probe the server must hold no session, subscription, unacked
 * delivery or timer of it.
 */
import { RawClient } from '../helpers/raw-client';
import { carries } from '../helpers/transport';
import type { BrokerOptions } from '../../src/options';
import { LeakCheckedServer, nextDisconnect, RawWebSocket, OP, registryCounts, untilSessions, wsFrame } from './support';

const env = new LeakCheckedServer({ heartbeat: [0, 0] });
// The same probes run over TCP (conformance-probes.tcp.test.ts); TCP has no close codes and no
// text/binary message kinds, so those two WebSocket facts are asserted only where they exist.
const { closeCodes, messageKinds } = carries();
const itWebSocket = closeCodes ? it : it.skip;
const restart = (options: BrokerOptions): Promise<void> => env.restart(options);
const open = (): Promise<RawClient> => env.open();
const connect = (version = '1.2'): Promise<RawClient> => env.connect({ 'accept-version': version });

async function subscriber(destination: string, version = '1.2', extra: Record<string, string> = {}): Promise<RawClient> {
  const c = await connect(version);
  c.send('SUBSCRIBE', { id: 'sub', destination, receipt: 'live', ...extra });
  await c.expect('RECEIPT');
  return c;
}

/** The server still serves: a fresh client round-trips a message through a topic. */
async function stillServing(): Promise<void> {
  const c = await subscriber('/topic/alive');
  c.send('SEND', { destination: '/topic/alive' }, 'ok');
  expect((await c.expect('MESSAGE')).body.toString()).toBe('ok');
}

describe('connection probes', () => {
  it('noConnect: frames before CONNECT get ERROR and a close, and nothing takes effect', async () => {
    const watcher = await subscriber('/topic/nc');
    const c = await open();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/nc' });
    c.send('SEND', { destination: '/topic/nc' }, 'sneaked in');
    const error = await c.expectError('received before CONNECT');
    expect(error.headers.message.length).toBeGreaterThan(0);
    expect(c.frames.map((f) => f.command)).toEqual(['ERROR']);
    // The SEND after the refused SUBSCRIBE was never read.
    watcher.send('SEND', { destination: '/topic/nc', receipt: 'sync' }, 'mine');
    const frames = [await watcher.next(), await watcher.next()];
    expect(frames.map((f) => f.command).sort()).toEqual(['MESSAGE', 'RECEIPT']);
    expect(frames.find((f) => f.command === 'MESSAGE')!.body.toString()).toBe('mine');
  });

  it('stompCommand: STOMP is answered like CONNECT', async () => {
    const c = await open();
    c.send('STOMP', { 'accept-version': '1.1,1.2', host: 'localhost' });
    const connected = await c.expect('CONNECTED');
    expect(connected.headers.version).toBe('1.2');
  });

  it.each([
    ['1.0', '1.0'],
    ['1.1', '1.1'],
    ['1.2', '1.2'],
    ['1.0,1.1', '1.1'],
    ['1.0,1.1,1.2', '1.2'],
  ])('versionNeg: accept-version %s gets version %s', async (offered, agreed) => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': offered, host: 'localhost' });
    expect((await c.expect('CONNECTED')).headers.version).toBe(agreed);
  });

  it('versionNeg: no common version gets ERROR naming ours in a version header, then a close', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '2.0', host: 'localhost' });
    const error = await c.expectError('Supported protocol versions are');
    expect(error.headers.version).toBe('1.0,1.1,1.2');
  });

  it('unknownCommand: ERROR naming the command, then a close; other sessions unaffected', async () => {
    const c = await connect();
    c.raw('PUBLISH\ndestination:/topic/a\n\nx\0');
    const error = await c.expectError("unknown command 'PUBLISH'");
    expect(await c.waitClosed()).toBe(closeCodes ? 1002 : undefined);
    expect(error.headers['content-type']).toBe('text/plain');
    await stillServing();
  });

  it('disconnectNoReceipt: DISCONNECT without receipt sends no RECEIPT (no receipt-id:undefined) and closes', async () => {
    const c = await connect();
    const ended = untilSessions(env.server.broker, 0);
    c.send('DISCONNECT');
    expect(await c.waitClosed()).toBe(closeCodes ? 1000 : undefined);
    await ended;
    expect(c.frames.map((f) => f.command)).toEqual(['CONNECTED']);
  });

  it('disconnectNoReceipt: DISCONNECT with a receipt gets exactly that receipt-id', async () => {
    const c = await connect();
    c.send('DISCONNECT', { receipt: '77' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('77');
    await c.waitClosed();
  });

  it('an authenticator that refuses: ERROR, then the connection is closed (not left open and working)', async () => {
    await restart({ authenticate: () => false });
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.2', login: 'x' });
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a', receipt: 'r' });
    await c.expectError('authentication failed');
    expect(c.frames.map((f) => f.command)).toEqual(['ERROR']);
    expect(c.closed).toBe(true);
  });
});

describe('frame and body probes', () => {
  it('bodyBlankLine: a body with blank lines arrives intact', async () => {
    const sub = await subscriber('/topic/blank');
    const body = 'line1\n\nline2\r\n\r\n\nend';
    sub.send('SEND', { destination: '/topic/blank' }, body);
    const m = await sub.expect('MESSAGE');
    expect(m.body.toString()).toBe(body);
    expect(m.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('headerEscape: \\c \\n \\r \\\\ are decoded on SEND and re-encoded on MESSAGE; values are not trimmed', async () => {
    const seen: Record<string, string>[] = [];
    const off = env.server.broker.subscribe('/topic/esc', (m) => seen.push(m.headers));
    try {
      const sub = await subscriber('/topic/esc');
      sub.raw('SEND\ndestination:/topic/esc\nx-colon:a\\cb\nx-eol:1\\n2\\r3\nx-slash:c\\\\d\nx-pad:  spaced  \nx-colon:second\n\nb\0');
      const m = await sub.expect('MESSAGE');
      expect(seen[0]).toMatchObject({ 'x-colon': 'a:b', 'x-eol': '1\n2\r3', 'x-slash': 'c\\d', 'x-pad': '  spaced  ' });
      // On the wire to a 1.2 client: escaped again; the first of repeated headers wins.
      expect(m.headers['x-colon']).toBe('a\\cb');
      expect(m.headers['x-eol']).toBe('1\\n2\\r3');
      expect(m.headers['x-slash']).toBe('c\\\\d');
      // Repeats may be kept as history (1.2 §"Repeated Header Entries"), but after the first.
      expect(m.headerList.filter(([name]) => name === 'x-colon')[0]).toEqual(['x-colon', 'a\\cb']);
    } finally {
      off();
    }
  });

  it('header names that are Object.prototype keys reach in-process subscribers (regression)', async () => {
    // They were dropped: the headers object had a prototype, and `name in headers` was true for them.
    const seen: Record<string, string>[] = [];
    const off = env.server.broker.subscribe('/topic/proto', (m) => seen.push(m.headers));
    try {
      const c = await connect();
      c.raw('SEND\ndestination:/topic/proto\nconstructor:c\n__proto__:p\ntoString:t\nhasOwnProperty:h\nreceipt:r\n\nb\0');
      await c.expect('RECEIPT');
      expect(seen).toHaveLength(1);
      expect(Object.entries(seen[0])).toEqual([
        ['constructor', 'c'],
        ['__proto__', 'p'],
        ['toString', 't'],
        ['hasOwnProperty', 'h'],
      ]);
      expect(Object.getPrototypeOf(seen[0])).toBeNull();
    } finally {
      off();
    }
  });

  it('headerEscape: an undefined escape sequence is fatal in 1.2', async () => {
    const c = await connect();
    c.raw('SEND\ndestination:/topic/a\nx:bad\\tescape\n\nb\0');
    const error = await c.expect('ERROR');
    expect(error.headers.message).toMatch(/escape/);
    await c.waitClosed();
  });

  it('utf8Length: content-length counts bytes, not UTF-16 units', async () => {
    const sub = await subscriber('/topic/utf8');
    const body = 'zażółć😀';
    sub.send('SEND', { destination: '/topic/utf8', 'content-type': 'text/plain;charset=utf-8' }, body);
    const m = await sub.expect('MESSAGE');
    expect(m.headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(Buffer.byteLength(body)).not.toBe(body.length);
    expect(m.body.toString('utf8')).toBe(body);
    if (messageKinds) expect(m.binary).toBe(false);
  });

  it('nulInBody: NULs behind a content-length arrive intact, in a binary WebSocket message', async () => {
    const sub = await subscriber('/topic/nul');
    const body = Buffer.from([0, 0x41, 0, 0, 0xff, 0x42, 0]);
    sub.send('SEND', { destination: '/topic/nul', 'content-length': String(body.length) }, body);
    const m = await sub.expect('MESSAGE');
    expect(m.body.equals(body)).toBe(true);
    if (messageKinds) expect(m.binary).toBe(true);
  });

  it('nulInBody: without content-length the first NUL ends the frame, and what follows must be a frame', async () => {
    const sub = await subscriber('/topic/nul2');
    sub.raw(Buffer.from('SEND\ndestination:/topic/nul2\n\nab\0cd\0'), true);
    expect((await sub.expect('MESSAGE')).body.toString()).toBe('ab');
    // "cd" starts a command line that a NUL cuts short: a malformed frame, refused.
    const error = await sub.expect('ERROR');
    expect(error.headers.message).toMatch(/NUL octet in command or header block/);
    await sub.waitClosed();
  });

  it('jsonRewrite: a JSON body passes through byte-identical (big integers, whitespace)', async () => {
    const sub = await subscriber('/topic/json');
    const body = '{ "n" : 12345678901234567890,\n  "f": 1.10, "s": "\\u00e9" }';
    sub.send('SEND', { destination: '/topic/json', 'content-type': 'application/json' }, body);
    const m = await sub.expect('MESSAGE');
    expect(m.body.toString()).toBe(body);
    expect(m.headers['content-type']).toBe('application/json');
  });

  it('badJson: invalid JSON with content-type json is delivered untouched, nothing crashes', async () => {
    const sub = await subscriber('/topic/badjson');
    for (const body of ['{"broken":', 'not json at all', '']) {
      sub.send('SEND', { destination: '/topic/badjson', 'content-type': 'application/json' }, body);
      expect((await sub.expect('MESSAGE')).body.toString()).toBe(body);
    }
  });

  it('MESSAGE frames carry message-id, subscription and destination; no internal or sender-only headers leak', async () => {
    const sub = await subscriber('/topic/hdr');
    sub.send('SEND', { destination: '/topic/hdr', receipt: 'mine', 'x-app': '1' }, 'b');
    const frames = [await sub.next(), await sub.next()];
    const m = frames.find((f) => f.command === 'MESSAGE')!;
    expect(m.headers['message-id']).toBeTruthy();
    expect(m.headers.subscription).toBe('sub');
    expect(m.headers.destination).toBe('/topic/hdr');
    expect(m.headers.receipt).toBeUndefined();
    expect(m.headers.bytes_message).toBeUndefined();
    expect(m.headers['x-app']).toBe('1');
  });

  it('self-delivery: a subscriber gets its own message', async () => {
    const c = await subscriber('/topic/self');
    c.send('SEND', { destination: '/topic/self' }, 'echo');
    expect((await c.expect('MESSAGE')).body.toString()).toBe('echo');
  });
});

describe('subscription probes', () => {
  it('receiptOnSubscribe: SUBSCRIBE and UNSUBSCRIBE are answered with their receipts', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: 's1', destination: '/topic/r', receipt: 'sub-r' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('sub-r');
    expect(env.server.broker.stats().subscriptions).toBe(1);
    c.send('UNSUBSCRIBE', { id: 's1', receipt: 'unsub-r' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('unsub-r');
    expect(env.server.broker.stats().subscriptions).toBe(0);
  });

  it('ackClient: the ack mode is honoured (not forced to auto): MESSAGE carries ack, an unacked message is redelivered', async () => {
    const a = await subscriber('/queue/ack', '1.2', { ack: 'client' });
    a.send('SEND', { destination: '/queue/ack' }, 'please ack');
    const m = await a.expect('MESSAGE');
    expect(m.headers.ack).toBeTruthy();
    expect(env.server.broker.stats().unacked).toBe(1);
    const ended = untilSessions(env.server.broker, 0);
    a.close();
    await a.waitClosed();
    await ended;
    const b = await connect();
    b.send('SUBSCRIBE', { id: 'sub', destination: '/queue/ack', ack: 'client-individual', receipt: 'live' });
    // The held message may be delivered before the RECEIPT: the subscription is live either way.
    const frames = [await b.next(), await b.next()];
    expect(frames.map((f) => f.command).sort()).toEqual(['MESSAGE', 'RECEIPT']);
    const again = frames.find((f) => f.command === 'MESSAGE')!;
    expect(again.body.toString()).toBe('please ack');
    expect(again.headers.redelivered).toBe('true');
    b.send('ACK', { id: again.headers.ack, receipt: 'acked' });
    await b.expect('RECEIPT');
    expect(env.server.broker.stats().unacked).toBe(0);
  });

  it("an ACK naming another session's delivery is refused, and that delivery stays unacked", async () => {
    const owner = await subscriber('/queue/mine', '1.2', { ack: 'client-individual' });
    owner.send('SEND', { destination: '/queue/mine' }, 'not yours');
    const m = await owner.expect('MESSAGE');
    const thief = await connect();
    thief.send('ACK', { id: m.headers.ack });
    await thief.expectError('no message awaiting acknowledgement');
    expect(env.server.broker.stats().unacked).toBe(1);
    owner.send('ACK', { id: m.headers.ack, receipt: 'mine' });
    await owner.expect('RECEIPT');
    expect(env.server.broker.stats().unacked).toBe(0);
  });

  it("another session's resolved user destination cannot be subscribed to, nor reached by a wildcard", async () => {
    const victim = await subscriber('/user/queue/private');
    const victimId = [...env.server.broker.sessions.keys()][0];
    const spy = await connect();
    spy.send('SUBSCRIBE', { id: 'all', destination: '/topic/**', receipt: 'r' });
    await spy.expect('RECEIPT');
    // A topic user destination resolves to '/topic/…-user<id>', which '/topic/**' would match.
    victim.send('SUBSCRIBE', { id: 'tp', destination: '/user/topic/private', receipt: 'r2' });
    await victim.expect('RECEIPT');
    await env.server.broker.template.sendToUser(victimId, '/topic/private', 'secret');
    expect((await victim.expect('MESSAGE')).body.toString()).toBe('secret');
    spy.send('SUBSCRIBE', { id: 'direct', destination: `/queue/private-user${victimId}` });
    const error = await spy.expect('ERROR');
    expect(error.headers.message.length).toBeGreaterThan(0);
    expect(spy.frames.filter((f) => f.command === 'MESSAGE')).toEqual([]);
    await spy.waitClosed();
  });

  it('/queue semantics: each message goes to one of two subscribers', async () => {
    const a = await subscriber('/queue/one');
    const b = await subscriber('/queue/one');
    a.send('SEND', { destination: '/queue/one' }, 'x');
    a.send('SEND', { destination: '/queue/one' }, 'y');
    await Promise.all([a.expect('MESSAGE'), b.expect('MESSAGE')]);
    a.send('SEND', { destination: '/topic/sync', receipt: 'sync-a' });
    await a.expect('RECEIPT');
    expect(a.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(1);
    expect(b.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(1);
  });

  it("wildcardPrefix: with '/' a subscription to /topic/a/b/c gets neither /topic/a nor /topic/a/b; /topic/* matches /topic/x", async () => {
    const deep = await subscriber('/topic/a/b/c');
    const star = await connect();
    star.send('SUBSCRIBE', { id: 'w', destination: '/topic/*', receipt: 'r' });
    await star.expect('RECEIPT');
    deep.send('SEND', { destination: '/topic/a' }, 'short');
    deep.send('SEND', { destination: '/topic/a/b' }, 'shorter');
    deep.send('SEND', { destination: '/topic/a/b/c' }, 'exact');
    expect((await deep.expect('MESSAGE')).body.toString()).toBe('exact');
    expect((await star.expect('MESSAGE')).body.toString()).toBe('short');
    star.send('SEND', { destination: '/topic/x' }, 'x');
    expect((await star.expect('MESSAGE')).body.toString()).toBe('x');
  });

  it("wildcardPrefix: with '.' a subscription to /topic/a.b.c does not get /topic/a", async () => {
    await restart({ destinationSeparator: '.' });
    const deep = await subscriber('/topic/a.b.c');
    const star = await connect();
    star.send('SUBSCRIBE', { id: 'w', destination: '/topic/a.*', receipt: 'r' });
    await star.expect('RECEIPT');
    deep.send('SEND', { destination: '/topic/a' }, 'prefix only');
    deep.send('SEND', { destination: '/topic/a.b' }, 'a.b');
    deep.send('SEND', { destination: '/topic/a.b.c' }, 'a.b.c');
    expect((await deep.expect('MESSAGE')).body.toString()).toBe('a.b.c');
    expect((await star.expect('MESSAGE')).body.toString()).toBe('a.b');
    star.send('SEND', { destination: '/topic/sync', receipt: 'sync' });
    await star.expect('RECEIPT');
    expect(star.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(1);
  });

  it('unsubscribeUnknown: ERROR, and the connection is closed (not left open)', async () => {
    const c = await connect();
    c.send('UNSUBSCRIBE', { id: 'never-subscribed', receipt: 'u' });
    const error = await c.expectError("no subscription with id 'never-subscribed'");
    expect(error.headers['receipt-id']).toBe('u');
    expect(c.closed).toBe(true);
  });
});

describe('crash probes', () => {
  it('sendNoDestination: ERROR naming the header, then a close; the server keeps serving', async () => {
    const c = await connect();
    c.send('SEND', {}, 'where to?');
    await c.expectError("missing the required 'destination' header");
    await stillServing();
  });

  it('sendNoDestWithSub: the same while subscriptions exist: ERROR, no crash, subscribers unaffected', async () => {
    const sub = await subscriber('/topic/keep');
    const sub2 = await subscriber('/queue/keep');
    const c = await connect();
    c.send('SEND', { 'content-type': 'application/json' }, '{"a":1}');
    await c.expectError("missing the required 'destination' header");
    sub.send('SEND', { destination: '/topic/keep' }, 'after');
    expect((await sub.expect('MESSAGE')).body.toString()).toBe('after');
    sub2.send('SEND', { destination: '/queue/keep' }, 'after');
    expect((await sub2.expect('MESSAGE')).body.toString()).toBe('after');
  });

  it('subscribeNoDest: ERROR, then a close; nothing is registered', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', receipt: 'r' });
    const error = await c.expectError("missing the required 'destination' header");
    expect(error.headers['receipt-id']).toBe('r');
    expect(env.server.broker.stats().subscriptions).toBe(0);
  });

  itWebSocket('wsProtocolError: a WebSocket frame with RSV2 set closes that connection with 1002; the server keeps serving', async () => {
    const raw = await RawWebSocket.open(env.server.port);
    env.sockets.push(raw);
    raw.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0');
    await raw.waitFor(() => raw.messages().some((m) => m.startsWith('CONNECTED')), 'CONNECTED');
    const ended = nextDisconnect(env.server.broker);
    raw.write(wsFrame(Buffer.from('SEND\ndestination:/topic/a\n\nx\0'), { opcode: OP.TEXT, rsv: 0b010 }));
    expect(await raw.closed()).toBe(1002);
    expect((await ended)[1]).toEqual({ kind: 'transport-closed', code: 1002 });
    await stillServing();
  });

  it('noHeartbeatCheck: heart-beats run in both directions, and a client that stops sending is dropped', async () => {
    await restart({ heartbeat: [40, 40] });
    const c = await RawClient.connect(env.server.url, { 'accept-version': '1.2', host: 'x', 'heart-beat': '40,40' });
    env.clients.push(c);
    expect(c.frames[0].headers['heart-beat']).toBe('40,40');
    // Server → client: EOLs arrive while the client is idle.
    await c.waitFor(() => c.heartbeats >= 2, 2000, 'server heart-beats');
    // Client → server: the client never beats, so it is dropped after the grace period.
    const error = await c.expectError('heart-beat timeout', 2000);
    expect(error.headers.message).toMatch(/nothing received for \d+ ms/);
  });

  it('noHeartbeatCheck (regression): a beating client is not dropped while a slow asynchronous frame holds reading paused', async () => {
    // The session stops reading while a frame's effect is pending (frame order); the heart-beats the
    // client sends meanwhile wait in the socket. Counting that time as silence dropped live clients.
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    await restart({
      heartbeat: [100, 100],
      interceptors: { inbound: [{ preSend: (m) => (m.destination === '/topic/slow' ? slow.then(() => undefined) : undefined) }] },
    });
    const c = await RawClient.connect(env.server.url, { 'accept-version': '1.2', host: 'x', 'heart-beat': '100,100' });
    env.clients.push(c);
    const beats = setInterval(() => c.raw('\n'), 20);
    try {
      const disconnects: string[] = [];
      env.server.broker.on('disconnect', (_s, reason) => disconnects.push(reason.kind));
      c.send('SEND', { destination: '/topic/slow', receipt: 'slow' }, 'x');
      // Hold the frame for twice the 200 ms limit (100 ms × grace 2): eight server heart-beats (one per 50 ms idle).
      const before = c.heartbeats;
      await c.waitFor(() => c.heartbeats >= before + 8, 3000, 'eight server heart-beats');
      expect(disconnects).toEqual([]);
      release();
      expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('slow');
      expect(c.closed).toBe(false);
    } finally {
      clearInterval(beats);
    }
  });
});
