/**
 * The session state machine over a real server and raw frames: negotiation, receipts, errors,
 * transactions, acks. Every error test asserts the ERROR frame the client sees and the close.
 */
import { RawClient } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';

let server: TestServer;
const clients: RawClient[] = [];

beforeEach(async () => {
  server = await startServer({ heartbeat: [0, 0] });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function open(): Promise<RawClient> {
  const c = await RawClient.open(server.url);
  clients.push(c);
  return c;
}

async function connect(version = '1.2'): Promise<RawClient> {
  const c = await RawClient.connect(server.url, { 'accept-version': version, host: 'localhost' });
  clients.push(c);
  return c;
}

describe('CONNECT negotiation', () => {
  it('answers CONNECT with CONNECTED carrying version, heart-beat, server and session', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.0,1.1,1.2', host: 'localhost' });
    const f = await c.expect('CONNECTED');
    expect(f.headers.version).toBe('1.2');
    expect(f.headers['heart-beat']).toBe('0,0');
    expect(f.headers.server).toMatch(/^stompkit\//);
    expect(f.headers.session).toMatch(/[0-9a-f-]{36}/);
  });

  it('accepts the STOMP command as CONNECT', async () => {
    const c = await open();
    c.send('STOMP', { 'accept-version': '1.2', host: 'localhost' });
    expect((await c.expect('CONNECTED')).headers.version).toBe('1.2');
  });

  it('picks the highest common version', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.0,1.1', host: 'localhost' });
    expect((await c.expect('CONNECTED')).headers.version).toBe('1.1');
  });

  it('treats a CONNECT without accept-version as STOMP 1.0', async () => {
    const c = await open();
    c.send('CONNECT', {});
    expect((await c.expect('CONNECTED')).headers.version).toBe('1.0');
  });

  it('refuses a CONNECT with no common version with ERROR listing ours in a version header, then closes', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '2.0,3.1', host: 'localhost' });
    const f = await c.expectError('Supported protocol versions are 1.0,1.1,1.2');
    expect(f.headers.version).toBe('1.0,1.1,1.2');
  });

  it('refuses a malformed heart-beat header', async () => {
    const c = await open();
    c.send('CONNECT', { 'accept-version': '1.2', 'heart-beat': 'soon' });
    await c.expectError("invalid heart-beat header 'soon'");
  });

  it('refuses frames before CONNECT', async () => {
    const c = await open();
    c.send('SUBSCRIBE', { id: '0', destination: '/topic/a', receipt: 'r1' });
    const f = await c.expectError('SUBSCRIBE received before CONNECT');
    expect(f.headers['receipt-id']).toBe('r1');
  });

  it('refuses a second CONNECT', async () => {
    const c = await connect();
    c.send('CONNECT', { 'accept-version': '1.2' });
    await c.expectError('already connected');
  });

  it('does not unescape CONNECT headers', async () => {
    const seen: string[] = [];
    await server.close();
    server = await startServer({
      heartbeat: [0, 0],
      authenticate: (info) => {
        seen.push(info.login ?? '');
        return { name: info.login ?? 'anon' };
      },
    });
    const c = await open();
    c.raw('CONNECT\naccept-version:1.2\nlogin:a\\nb\n\n\0');
    const f = await c.expect('CONNECTED');
    expect(seen).toEqual(['a\\nb']);
    expect(f.headers['user-name']).toBe('a\\nb');
  });
});

describe('frame validation', () => {
  it('refuses an unknown command', async () => {
    const c = await connect();
    c.send('PUBLISH', { destination: '/topic/a' });
    await c.expectError("unknown command 'PUBLISH'");
  });

  it('refuses SEND without destination, naming the header, with receipt-id', async () => {
    const c = await connect();
    c.send('SEND', { receipt: 'r-7' }, 'hi');
    const f = await c.expectError("SEND frame is missing the required 'destination' header");
    expect(f.headers['receipt-id']).toBe('r-7');
    expect(f.body.toString()).toContain('destination');
  });

  it('refuses SUBSCRIBE without id in 1.1 and 1.2', async () => {
    for (const version of ['1.1', '1.2']) {
      const c = await connect(version);
      c.send('SUBSCRIBE', { destination: '/topic/a' });
      await c.expectError("SUBSCRIBE frame is missing the required 'id' header");
    }
  });

  it('refuses SUBSCRIBE without destination', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1' });
    await c.expectError("missing the required 'destination' header");
  });

  it('refuses a body on a frame that must not have one', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a' }, 'oops');
    await c.expectError('SUBSCRIBE frames must not have a body');
  });

  it('refuses ACK without id (1.2) and without message-id (1.1)', async () => {
    const c = await connect('1.2');
    c.send('ACK', {});
    await c.expectError("ACK frame is missing the required 'id' header");
    const d = await connect('1.1');
    d.send('ACK', { subscription: '1' });
    await d.expectError("ACK frame is missing the required 'message-id' header");
  });

  it('refuses destinations outside the broker prefixes with ERROR and close under strictDestinations', async () => {
    await server.close();
    server = await startServer({ heartbeat: [0, 0], strictDestinations: true });
    const c = await connect();
    c.send('SEND', { destination: '/elsewhere/x' }, 'x');
    await c.expectError("cannot send to '/elsewhere/x'");
  });

  it('refuses an undefined escape sequence in 1.2', async () => {
    const c = await connect();
    c.raw('SEND\ndestination:/topic/a\nx:bad\\t\n\nbody\0');
    const f = await c.expect('ERROR');
    expect(f.headers.message).toMatch(/escape/);
    await c.waitClosed();
  });

  it('refuses a content-length over the frame limit as soon as the header is read', async () => {
    await server.close();
    server = await startServer({ heartbeat: [0, 0], limits: { maxFrameBytes: 1024 } });
    const c = await connect();
    c.raw('SEND\ndestination:/topic/a\ncontent-length:999999\n\n'); // no body sent at all
    const f = await c.expect('ERROR');
    expect(f.headers.message).toMatch(/1024/);
    await c.waitClosed();
  });

  it('keeps other sessions untouched when one session errors', async () => {
    const good = await connect();
    good.send('SUBSCRIBE', { id: 's', destination: '/topic/a', receipt: 'r' });
    await good.expect('RECEIPT');
    const bad = await connect();
    bad.raw('GARBAGE\n\n\0');
    await bad.expectError('unknown command');
    const sender = await connect();
    sender.send('SEND', { destination: '/topic/a' }, 'still here');
    const m = await good.expect('MESSAGE');
    expect(m.body.toString()).toBe('still here');
  });
});

describe('receipts and DISCONNECT', () => {
  it('sends a RECEIPT for every frame that asks, after it took effect', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/r', receipt: 'sub' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('sub');
    c.send('SEND', { destination: '/topic/r', receipt: 'send' }, 'x');
    // the subscription was live when the receipt came, so the MESSAGE follows
    const frames = [await c.next(), await c.next()];
    expect(frames.map((f) => f.command).sort()).toEqual(['MESSAGE', 'RECEIPT']);
    c.send('BEGIN', { transaction: 't', receipt: 'begin' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('begin');
    c.send('ABORT', { transaction: 't', receipt: 'abort' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('abort');
    c.send('UNSUBSCRIBE', { id: '1', receipt: 'unsub' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('unsub');
  });

  it('answers DISCONNECT with a RECEIPT and then closes', async () => {
    const c = await connect();
    c.send('DISCONNECT', { receipt: 'bye' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('bye');
    expect(await c.waitClosed()).toBe(1000);
  });

  it('closes after a DISCONNECT without receipt and sends nothing', async () => {
    const c = await connect();
    c.send('DISCONNECT');
    await c.waitClosed();
    expect(c.frames.map((f) => f.command)).toEqual(['CONNECTED']);
  });

  it('fires the disconnect event exactly once with the reason', async () => {
    const reasons: string[] = [];
    server.broker.on('disconnect', (_s, reason) => reasons.push(reason.kind));
    const c = await connect();
    c.send('DISCONNECT', { receipt: 'x' });
    await c.waitClosed();
    await new Promise((r) => setImmediate(r));
    expect(reasons).toEqual(['client-disconnect']);
    expect(server.broker.sessions.size).toBe(0);
  });
});

describe('MESSAGE frames', () => {
  it('carry destination, message-id, subscription, content-type, content-length and user headers; sender included', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: 'sub-1', destination: '/topic/m', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: '/topic/m', 'content-type': 'text/plain', 'x-custom': 'a\\cb', receipt: 'no-leak' }, 'zażółć😀');
    const frames = [await c.next(), await c.next()];
    const m = frames.find((f) => f.command === 'MESSAGE')!;
    expect(m.headers.destination).toBe('/topic/m');
    expect(m.headers.subscription).toBe('sub-1');
    expect(m.headers['message-id']).toBeTruthy();
    expect(m.headers['content-type']).toBe('text/plain');
    expect(m.headers['content-length']).toBe(String(Buffer.byteLength('zażółć😀'))); // 14 bytes, 8 UTF-16 units
    expect(m.headers['x-custom']).toBe('a\\cb'); // re-escaped on the wire
    expect(m.headers.receipt).toBeUndefined();
    expect(m.body.toString('utf8')).toBe('zażółć😀');
    expect(m.binary).toBe(false);
  });

  it('gives every message a unique message-id', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/u', receipt: 'r' });
    await c.expect('RECEIPT');
    for (let i = 0; i < 5; i++) c.send('SEND', { destination: '/topic/u' }, String(i));
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add((await c.expect('MESSAGE')).headers['message-id']);
    expect(ids.size).toBe(5);
  });

  it('passes bodies with NUL bytes through untouched and sends non-UTF-8 bodies as binary WebSocket messages', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/bin', receipt: 'r' });
    await c.expect('RECEIPT');
    const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 10, 0]);
    c.send('SEND', { destination: '/topic/bin', 'content-length': String(body.length) }, body);
    const m = await c.expect('MESSAGE');
    expect(m.body.equals(body)).toBe(true);
    expect(m.binary).toBe(true);
  });

  it('keeps the first of repeated headers first and does not trim values', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/rep', receipt: 'r' });
    await c.expect('RECEIPT');
    c.raw('SEND\ndestination:/topic/rep\nfoo: one \nfoo:two\n\nx\0');
    const m = await c.expect('MESSAGE');
    expect(m.headers.foo).toBe(' one ');
  });

  it('accepts several frames in one WebSocket message and one frame split over several', async () => {
    const c = await connect();
    c.raw('SUBSCRIBE\nid:1\ndestination:/topic/s\n\n\0\nSEND\ndestination:/topic/s\n\none\0SEND\ndestination:/topic/s\n\ntwo\0');
    expect((await c.expect('MESSAGE')).body.toString()).toBe('one');
    expect((await c.expect('MESSAGE')).body.toString()).toBe('two');
    const frame = 'SEND\ndestination:/topic/s\ncontent-length:5\n\nthree\0';
    for (const part of [frame.slice(0, 3), frame.slice(3, 20), frame.slice(20)]) c.raw(part);
    expect((await c.expect('MESSAGE')).body.toString()).toBe('three');
  });

  it('keeps a half-read frame of one session apart from whole frames other sessions send meanwhile', async () => {
    // Idle sessions share decoders (session/decoder-pool.ts): a session in the middle of a frame must
    // keep its own, and each session's version must govern its own header unescaping.
    const sub = await connect();
    sub.send('SUBSCRIBE', { id: '1', destination: '/topic/mix', receipt: 'sub' });
    await sub.expect('RECEIPT');
    const a = await connect('1.2');
    const b = await connect('1.0');
    // One WebSocket message: a whole SEND (answered by its RECEIPT) and the start of the next one.
    a.raw('SEND\ndestination:/topic/mix\nreceipt:a1\nx-note:a\\c1\n\nfirst\0SEND\ndestination:/topic/mix\nx-no');
    await a.expect('RECEIPT');
    b.raw('SEND\ndestination:/topic/mix\nreceipt:b1\nx-note:b\\c1\n\nfrom-b\0');
    await b.expect('RECEIPT');
    a.raw('te:a\\c2\n\nsecond\0');
    const got = [await sub.expect('MESSAGE'), await sub.expect('MESSAGE'), await sub.expect('MESSAGE')];
    // As written to the 1.2 subscriber (RawClient does not unescape): A's 1.2 'a\\c1' was read as
    // 'a:1' (and is escaped again on the way out); B's 1.0 'b\\c1' is literal text, backslash included.
    expect(got.map((m) => [m.body.toString(), m.headers['x-note']])).toEqual([
      ['first', 'a\\c1'],
      ['from-b', 'b\\\\c1'],
      ['second', 'a\\c2'],
    ]);
  });

  it('accepts CRLF line endings and heart-beat EOLs between frames', async () => {
    const c = await connect();
    c.raw('\r\n\nSUBSCRIBE\r\nid:1\r\ndestination:/topic/crlf\r\nreceipt:r\r\n\r\n\0\r\n');
    await c.expect('RECEIPT');
  });
});

describe('queues and acks', () => {
  it('delivers each queue message to exactly one consumer, round robin', async () => {
    const a = await connect();
    const b = await connect();
    for (const [c, id] of [[a, 'a'], [b, 'b']] as const) {
      c.send('SUBSCRIBE', { id, destination: '/queue/work', receipt: 'r' });
      await c.expect('RECEIPT');
    }
    const p = await connect();
    for (let i = 0; i < 4; i++) p.send('SEND', { destination: '/queue/work' }, String(i));
    const got = [await a.expect('MESSAGE'), await a.expect('MESSAGE'), await b.expect('MESSAGE'), await b.expect('MESSAGE')];
    expect(got.map((m) => m.body.toString()).sort()).toEqual(['0', '1', '2', '3']);
  });

  it('keeps queue messages sent while nobody listens for the first consumer', async () => {
    const p = await connect();
    p.send('SEND', { destination: '/queue/held', receipt: 'r' }, 'early');
    await p.expect('RECEIPT');
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/queue/held' });
    expect((await c.expect('MESSAGE')).body.toString()).toBe('early');
  });

  it('puts an ack header on client-ack MESSAGE frames and accepts the ACK (1.2)', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/queue/acks', ack: 'client-individual', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: '/queue/acks' }, 'x');
    const m = await c.expect('MESSAGE');
    expect(m.headers.ack).toBeTruthy();
    c.send('ACK', { id: m.headers.ack, receipt: 'acked' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('acked');
    c.send('ACK', { id: m.headers.ack });
    await c.expectError('no message awaiting acknowledgement');
  });

  it('acks by message-id and subscription in STOMP 1.1', async () => {
    const c = await connect('1.1');
    c.send('SUBSCRIBE', { id: 's', destination: '/queue/acks11', ack: 'client', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: '/queue/acks11' }, 'x');
    const m = await c.expect('MESSAGE');
    c.send('ACK', { 'message-id': m.headers['message-id'], subscription: 's', receipt: 'ok' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('ok');
  });

  it('acks by message-id in STOMP 1.0', async () => {
    const c = await connect('1.0');
    c.send('SUBSCRIBE', { destination: '/queue/acks10', ack: 'client', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('SEND', { destination: '/queue/acks10' }, 'x');
    const m = await c.expect('MESSAGE');
    c.send('ACK', { 'message-id': m.headers['message-id'], receipt: 'ok' });
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('ok');
  });

  it('redelivers a NACKed message to another consumer marked redelivered', async () => {
    const a = await connect();
    a.send('SUBSCRIBE', { id: 'a', destination: '/queue/n', ack: 'client-individual', receipt: 'r' });
    await a.expect('RECEIPT');
    const b = await connect();
    b.send('SUBSCRIBE', { id: 'b', destination: '/queue/n', ack: 'client-individual', receipt: 'r' });
    await b.expect('RECEIPT');
    a.send('SEND', { destination: '/queue/n' }, 'first');
    const first = await a.expect('MESSAGE');
    a.send('NACK', { id: first.headers.ack });
    const again = await b.expect('MESSAGE');
    expect(again.body.toString()).toBe('first');
    expect(again.headers.redelivered).toBe('true');
  });

  it('redelivers unacked messages when their session ends', async () => {
    const a = await connect();
    a.send('SUBSCRIBE', { id: 'a', destination: '/queue/gone', ack: 'client', receipt: 'r' });
    await a.expect('RECEIPT');
    a.send('SEND', { destination: '/queue/gone' }, 'keep me');
    await a.expect('MESSAGE');
    a.close();
    await a.waitClosed();
    const b = await connect();
    b.send('SUBSCRIBE', { id: 'b', destination: '/queue/gone' });
    const m = await b.expect('MESSAGE');
    expect(m.body.toString()).toBe('keep me');
    expect(m.headers.redelivered).toBe('true');
  });

  it('refuses an invalid ack mode', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/queue/x', ack: 'sometimes' });
    await c.expectError("invalid ack mode 'sometimes'");
  });

  it('refuses a duplicate subscription id', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/a' });
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/b' });
    await c.expectError("subscription id '1' is already in use");
  });

  it('refuses UNSUBSCRIBE of an unknown id', async () => {
    const c = await connect();
    c.send('UNSUBSCRIBE', { id: 'nope' });
    await c.expectError("no subscription with id 'nope'");
  });
});

describe('transactions', () => {
  it('applies SEND and ACK only at COMMIT, in order', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/tx', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('BEGIN', { transaction: 't1' });
    c.send('SEND', { destination: '/topic/tx', transaction: 't1' }, 'a');
    c.send('SEND', { destination: '/topic/tx', transaction: 't1', receipt: 'queued' }, 'b');
    expect((await c.expect('RECEIPT')).headers['receipt-id']).toBe('queued');
    expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
    c.send('COMMIT', { transaction: 't1', receipt: 'committed' });
    const frames = [await c.next(), await c.next(), await c.next()];
    expect(frames.map((f) => f.command)).toEqual(['MESSAGE', 'MESSAGE', 'RECEIPT']);
    expect(frames.slice(0, 2).map((f) => f.body.toString())).toEqual(['a', 'b']);
  });

  it('discards the transaction on ABORT', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/ab', receipt: 'r' });
    await c.expect('RECEIPT');
    c.send('BEGIN', { transaction: 't' });
    c.send('SEND', { destination: '/topic/ab', transaction: 't' }, 'never');
    c.send('ABORT', { transaction: 't' });
    c.send('SEND', { destination: '/topic/ab' }, 'after');
    expect((await c.expect('MESSAGE')).body.toString()).toBe('after');
  });

  it('refuses unknown and duplicate transactions', async () => {
    const c = await connect();
    c.send('COMMIT', { transaction: 'ghost' });
    await c.expectError("no transaction 'ghost'");
    const d = await connect();
    d.send('BEGIN', { transaction: 't' });
    d.send('BEGIN', { transaction: 't' });
    await d.expectError("transaction 't' has already begun");
    const e = await connect();
    e.send('SEND', { destination: '/topic/a', transaction: 'nope' }, 'x');
    await e.expectError("names transaction 'nope'");
  });
});

describe('heart-beats', () => {
  it('negotiates heart-beats and sends EOLs when idle', async () => {
    await server.close();
    server = await startServer({ heartbeat: [50, 50] });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': '0,60' });
    clients.push(c);
    expect(c.frames[0].headers['heart-beat']).toBe('50,50');
    await c.waitFor(() => c.heartbeats >= 3, 2000, 'heart-beats');
  });

  it('sends heart-beats at the rate a client asks for when it is faster than the offer, and says so in its CONNECTED', async () => {
    await server.close();
    server = await startServer({ heartbeat: [1000, 1000], heartbeatFloor: 50 });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': '0,120' });
    clients.push(c);
    // 120 ms rounded up to a multiple of the 50 ms floor; the offer the other way is unchanged.
    expect(c.frames[0].headers['heart-beat']).toBe('150,1000');
    const start = Date.now();
    await c.waitFor(() => c.heartbeats >= 3, 2000, 'heart-beats');
    expect(Date.now() - start).toBeLessThan(1000); // at the asked-for rate, not the 1000 ms offer
    const other = await RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': '0,10' });
    clients.push(other);
    expect(other.frames[0].headers['heart-beat']).toBe('50,1000'); // never below the floor
  });

  it('checks the silence of a client that offered faster heart-beats at its own rate', async () => {
    await server.close();
    server = await startServer({ heartbeat: [0, 5000], heartbeatFloor: 50 });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': '70,0' });
    clients.push(c);
    expect(c.frames[0].headers['heart-beat']).toBe('0,100');
    const f = await c.expectError('heart-beat timeout', 2000);
    expect(f.headers.message).toMatch(/limit 200 ms/); // 100 ms × heartbeatGrace 2, not 5000 × 2
  });

  it('lowers the offer per session only as far as the 1000 ms default floor', async () => {
    await server.close();
    server = await startServer({});
    const [stompjsTests, slow] = await Promise.all(
      ['1000,1000', '20000,30000'].map((hb) => RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': hb })),
    );
    clients.push(stompjsTests, slow);
    expect(stompjsTests.frames[0].headers['heart-beat']).toBe('1000,1000');
    expect(slow.frames[0].headers['heart-beat']).toBe('10000,10000'); // slower requests keep the configured offer
  });

  it('drops a client that promised heart-beats and went silent, with an ERROR', async () => {
    await server.close();
    server = await startServer({ heartbeat: [0, 50] });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': '50,0' });
    clients.push(c);
    await c.expectError('heart-beat timeout', 2000);
  });

  it('judges each session by its own heart-beats while sessions share the clock that ticks them', async () => {
    await server.close();
    server = await startServer({ heartbeat: [30, 40] });
    // Same negotiated periods: one tick walks all three (session/heartbeat-clock.ts).
    const [silent, beating, listening] = await Promise.all(
      ['40,30', '40,30', '0,30'].map((hb) => RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': hb })),
    );
    clients.push(silent, beating, listening);
    const beat = setInterval(() => beating.raw('\n'), 15);
    try {
      await silent.expectError('heart-beat timeout', 2000);
      // The others lived through the tick that closed `silent`, and the listener still gets EOLs.
      const beatsBefore = listening.heartbeats;
      beating.send('SUBSCRIBE', { id: '1', destination: '/topic/hb', receipt: 'after' });
      await beating.expect('RECEIPT');
      await listening.waitFor(() => listening.heartbeats >= beatsBefore + 3, 2000, 'heart-beats');
      expect([beating.closed, listening.closed]).toEqual([false, false]);
    } finally {
      clearInterval(beat);
    }
    // The listener promised none, so it is only sent to: the silence check runs for `beating` alone.
    expect(server.broker.heartbeats.receive.size).toBe(1);
    expect(server.broker.heartbeats.send.size).toBe(3 - 1);
    beating.close();
    listening.close();
    await listening.waitClosed();
    await server.broker.close();
    expect([server.broker.heartbeats.send.size, server.broker.heartbeats.receive.size]).toEqual([0, 0]);
  });

  it('keeps a client that sends heart-beats', async () => {
    await server.close();
    server = await startServer({ heartbeat: [0, 40] });
    const c = await RawClient.connect(server.url, { 'accept-version': '1.2', 'heart-beat': '40,0' });
    clients.push(c);
    const beat = setInterval(() => c.raw('\n'), 20);
    try {
      c.send('SUBSCRIBE', { id: '1', destination: '/topic/hb' });
      // 10 heart-beat periods later the session is still alive and answers receipts
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 80));
        c.send('SEND', { destination: '/topic/hb', receipt: `r${i}` }, 'x');
      }
      await c.waitFor(() => c.frames.filter((f) => f.command === 'RECEIPT').length === 5, 2000, 'receipts');
      expect(c.closed).toBe(false);
    } finally {
      clearInterval(beat);
    }
  });
});
