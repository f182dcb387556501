/**
 * Sessions that end badly leave nothing behind. Each test builds up state (a subscription, queue
 * deliveries awaiting ACK, an open transaction, heart-beat timers), ends the connection in a hostile
 * way — a malformed WebSocket frame written on a bare socket, invalid UTF-8 in a text message, a
 * TCP reset in the middle of a frame, of a transaction, with unacked messages — waits for the
 * broker's 'disconnect' event, and checks the registry (sessions, subscriptions, unacked) and the
 * timers are back to where they started.
 */
import { RawClient } from '../helpers/raw-client';
import type { CloseReason } from '../../src/session/stomp-session';
import type { BrokerOptions } from '../../src/options';
import { LeakCheckedServer, nextDisconnect, OP, RawWebSocket, registryCounts, untilSessions, wsFrame } from './support';

const env = new LeakCheckedServer({ heartbeat: [0, 0], maxPayload: 64 * 1024 });
const restart = (options: BrokerOptions): Promise<void> => env.restart(options);
const connect = (headers: Record<string, string> = {}): Promise<RawClient> => env.connect(headers);

/** A raw-socket session, CONNECTed, subscribed to a topic and a client-ack queue. */
async function rawSession(): Promise<RawWebSocket> {
  const raw = await RawWebSocket.open(env.server.port);
  env.sockets.push(raw);
  raw.send('CONNECT\naccept-version:1.2\nhost:x\n\n\0');
  raw.send('SUBSCRIBE\nid:t\ndestination:/topic/td\n\n\0SUBSCRIBE\nid:q\ndestination:/queue/td\nack:client\nreceipt:subscribed\n\n\0');
  await raw.waitFor(() => raw.messages().some((m) => m.includes('receipt-id:subscribed')), 'the subscriptions');
  return raw;
}

/** Waits for the only session's 'disconnect', then checks that nothing of it is left. */
async function expectGone(ended: Promise<[unknown, CloseReason]>): Promise<CloseReason> {
  const [, reason] = await ended;
  expect(registryCounts(env.server.broker)).toEqual({ sessions: 0, subscriptions: 0, unacked: 0 });
  return reason;
}

describe('malformed WebSocket frames', () => {
  // Each entry: what is written after a CONNECT and two subscriptions, and the close code ws answers with.
  const cases: Array<[string, () => Buffer, number]> = [
    ['a masked frame with a reserved opcode (0x3)', () => wsFrame(Buffer.from('x'), { opcode: 0x3 }), 1002],
    ['a masked frame with a reserved control opcode (0xB)', () => wsFrame(Buffer.alloc(0), { opcode: 0xb }), 1002],
    ['an unmasked client frame', () => wsFrame(Buffer.from('SEND\ndestination:/topic/td\n\nx\0'), { opcode: OP.TEXT, mask: false }), 1002],
    ['RSV1 set without permessage-deflate', () => wsFrame(Buffer.from('x'), { opcode: OP.TEXT, rsv: 0b100 }), 1002],
    ['RSV3 set', () => wsFrame(Buffer.from('x'), { opcode: OP.BINARY, rsv: 0b001 }), 1002],
    ['a PING longer than 125 bytes', () => wsFrame(Buffer.alloc(126), { opcode: OP.PING }), 1002],
    ['a fragmented PING', () => wsFrame(Buffer.from('p'), { opcode: OP.PING, fin: false }), 1002],
    ['a continuation frame with no message to continue', () => wsFrame(Buffer.from('x'), { opcode: OP.CONTINUATION }), 1002],
    [
      'a new data frame inside a fragmented message',
      () => Buffer.concat([wsFrame(Buffer.from('SEND\n'), { opcode: OP.TEXT, fin: false }), wsFrame(Buffer.from('x'), { opcode: OP.TEXT })]),
      1002,
    ],
    ['a 64-bit length above 2^53 - 1', () => wsFrame(Buffer.alloc(0), { announcedLength: 2 ** 60 }), 1009],
    ['a length above maxPayload', () => wsFrame(Buffer.alloc(0), { announcedLength: 64 * 1024 + 1 }), 1009],
    ['a CLOSE frame with a 1-byte payload', () => wsFrame(Buffer.from([3]), { opcode: OP.CLOSE }), 1002],
    ['a CLOSE frame with an invalid status code (999)', () => wsFrame(Buffer.from([0x03, 0xe7]), { opcode: OP.CLOSE }), 1002],
    ['a CLOSE frame whose reason is not UTF-8', () => wsFrame(Buffer.from([0x03, 0xe8, 0xff, 0xfe]), { opcode: OP.CLOSE }), 1007],
  ];

  it.each(cases)('%s: ws closes the connection, the session and its subscriptions are gone', async (_name, frame, code) => {
    const raw = await rawSession();
    env.server.broker.publish('/queue/td', 'unacked');
    await raw.waitFor(() => raw.messages().some((m) => m.startsWith('MESSAGE')), 'the queue message');
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 1, subscriptions: 2, unacked: 1 });
    const ended = nextDisconnect(env.server.broker);
    raw.write(frame());
    expect(await raw.closed()).toBe(code);
    // Regression: the reason names the code ws closed with (its own 'close' event says 1006).
    expect(await expectGone(ended)).toEqual({ kind: 'transport-closed', code });
    // The unacked message went back to the queue.
    expect(env.server.broker.stats().queueDepths['/queue/td']).toBe(1);
    const next = await connect();
    next.send('SUBSCRIBE', { id: '1', destination: '/queue/td' });
    const m = await next.expect('MESSAGE');
    expect(m.body.toString()).toBe('unacked');
    expect(m.headers.redelivered).toBe('true');
  });

  it('a frame header cut short, then a reset: the session is gone', async () => {
    const raw = await rawSession();
    const ended = nextDisconnect(env.server.broker);
    raw.write(wsFrame(Buffer.from('SEND\ndestination:/topic/td\n\nhalf'), { opcode: OP.TEXT }).subarray(0, 1));
    raw.destroy();
    await expectGone(ended);
  });

  it('a WebSocket frame announcing more payload than it carries, then a reset: the session is gone', async () => {
    const raw = await rawSession();
    const ended = nextDisconnect(env.server.broker);
    raw.write(wsFrame(Buffer.from('SEND\ndestination:/topic/td\n\n'), { opcode: OP.TEXT, announcedLength: 1000 }));
    raw.destroy();
    await expectGone(ended);
  });
});

describe('invalid UTF-8 in a text message', () => {
  it('ws closes with 1007; nothing of the STOMP frame is published and the session is gone', async () => {
    const watcher = await connect();
    watcher.send('SUBSCRIBE', { id: 'w', destination: '/topic/td', receipt: 'r' });
    await watcher.expect('RECEIPT');
    const raw = await rawSession();
    const ended = nextDisconnect(env.server.broker);
    raw.write(wsFrame(Buffer.concat([Buffer.from('SEND\ndestination:/topic/td\n\nbad \xff'), Buffer.from([0xc3, 0x28, 0])]), { opcode: OP.TEXT }));
    expect(await raw.closed()).toBe(1007);
    const [session, reason] = await ended;
    expect(reason).toEqual({ kind: 'transport-closed', code: 1007 });
    expect(env.server.broker.sessions.has(session.sessionId)).toBe(false);
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 1, subscriptions: 1, unacked: 0 });
    watcher.send('SEND', { destination: '/topic/td', receipt: 'sync' }, 'only this');
    const frames = [await watcher.next(), await watcher.next()];
    expect(frames.filter((f) => f.command === 'MESSAGE').map((f) => f.body.toString())).toEqual(['only this']);
  });

  it('an invalid sequence split across the fragments of one text message: 1007', async () => {
    const raw = await rawSession();
    const ended = nextDisconnect(env.server.broker);
    raw.write(wsFrame(Buffer.from([0x53, 0x45, 0xe2, 0x82]), { opcode: OP.TEXT, fin: false }));
    raw.write(wsFrame(Buffer.from([0x28, 0x0a]), { opcode: OP.CONTINUATION }));
    expect(await raw.closed()).toBe(1007);
    expect(await expectGone(ended)).toEqual({ kind: 'transport-closed', code: 1007 });
  });

  it('a binary message may carry any bytes: the same bytes in a binary message are STOMP-validated instead', async () => {
    const raw = await rawSession();
    const ended = nextDisconnect(env.server.broker);
    raw.write(wsFrame(Buffer.from([0x53, 0x45, 0x4e, 0xff, 0x0a, 0x0a, 0x00]), { opcode: OP.BINARY }));
    await raw.waitFor(() => raw.messages().some((m) => m.startsWith('ERROR')), 'ERROR');
    expect(raw.messages().find((m) => m.startsWith('ERROR'))).toMatch(/message:command or header is not valid UTF-8/);
    expect(await raw.closed()).toBe(1002);
    await expectGone(ended);
  });
});

describe('a client that disconnects', () => {
  it('mid-frame (half a SEND, then a reset): nothing is published, the session is gone', async () => {
    const watcher = await connect();
    watcher.send('SUBSCRIBE', { id: 'w', destination: '/topic/mid', receipt: 'r' });
    await watcher.expect('RECEIPT');
    const c = await connect();
    const ended = nextDisconnect(env.server.broker);
    c.raw('SEND\ndestination:/topic/mid\ncontent-length:10\n\nhalf');
    c.raw('SEND\ndestination:/topic/mid\n\nno NUL yet');
    c.ws.terminate();
    await ended;
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 1, subscriptions: 1, unacked: 0 });
    watcher.send('SEND', { destination: '/topic/mid', receipt: 'sync' }, 'only this');
    const frames = [await watcher.next(), await watcher.next()];
    expect(frames.filter((f) => f.command === 'MESSAGE').map((f) => f.body.toString())).toEqual(['only this']);
  });

  it('mid-header-block: the session is gone', async () => {
    const c = await connect();
    const ended = nextDisconnect(env.server.broker);
    c.raw('SEND\ndestinat');
    c.ws.terminate();
    await expectGone(ended);
  });

  it('mid-transaction (BEGIN, SENDs, ACK, then a reset): nothing is published, the ACKed message is redelivered', async () => {
    const watcher = await connect();
    watcher.send('SUBSCRIBE', { id: 'w', destination: '/topic/tx', receipt: 'r' });
    await watcher.expect('RECEIPT');
    const c = await connect();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/tx', ack: 'client-individual', receipt: 'r' });
    await c.expect('RECEIPT');
    env.server.broker.publish('/queue/tx', 'acked in the transaction');
    const m = await c.expect('MESSAGE');
    c.send('BEGIN', { transaction: 't1' });
    c.send('SEND', { destination: '/topic/tx', transaction: 't1' }, 'never 1');
    c.send('SEND', { destination: '/queue/tx', transaction: 't1' }, 'never 2');
    c.send('ACK', { id: m.headers.ack, transaction: 't1', receipt: 'enlisted' });
    await c.expect('RECEIPT');
    expect(env.server.broker.stats().unacked).toBe(1);
    const ended = nextDisconnect(env.server.broker);
    c.ws.terminate();
    await ended;
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 1, subscriptions: 1, unacked: 0 });
    // Nothing of the transaction took effect: no topic message, the queue holds only the redelivery.
    expect(env.server.broker.stats().queueDepths['/queue/tx']).toBe(1);
    watcher.send('SEND', { destination: '/topic/tx', receipt: 'sync' }, 'only this');
    const frames = [await watcher.next(), await watcher.next()];
    expect(frames.filter((f) => f.command === 'MESSAGE').map((f) => f.body.toString())).toEqual(['only this']);
    const next = await connect();
    next.send('SUBSCRIBE', { id: '1', destination: '/queue/tx' });
    const again = await next.expect('MESSAGE');
    expect(again.body.toString()).toBe('acked in the transaction');
    expect(again.headers.redelivered).toBe('true');
  });

  it('with unacked queue messages: they return to the queue, in order, redelivered:true to the next consumer', async () => {
    const c = await connect();
    c.send('SUBSCRIBE', { id: 'q', destination: '/queue/un', ack: 'client', receipt: 'r' });
    await c.expect('RECEIPT');
    const sender = await connect();
    for (let i = 0; i < 5; i++) sender.send('SEND', { destination: '/queue/un' }, `m${i}`);
    for (let i = 0; i < 5; i++) expect((await c.expect('MESSAGE')).body.toString()).toBe(`m${i}`);
    expect(env.server.broker.stats().unacked).toBe(5);
    const ended = nextDisconnect(env.server.broker);
    c.ws.terminate();
    await ended;
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 1, subscriptions: 0, unacked: 0 });
    expect(env.server.broker.stats().queueDepths['/queue/un']).toBe(5);
    const next = await connect();
    next.send('SUBSCRIBE', { id: '1', destination: '/queue/un', ack: 'client-individual' });
    const again = [];
    for (let i = 0; i < 5; i++) again.push(await next.expect('MESSAGE'));
    expect(again.map((m) => m.body.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(again.every((m) => m.headers.redelivered === 'true')).toBe(true);
    expect(env.server.broker.stats().unacked).toBe(5);
    for (const m of again) next.send('ACK', { id: m.headers.ack });
    next.send('SEND', { destination: '/topic/sync', receipt: 'acked' });
    await next.expect('RECEIPT');
    expect(env.server.broker.stats().unacked).toBe(0);
  });

  it('with heart-beats running: both heart-beat timers are cleared', async () => {
    await restart({ heartbeat: [30, 30] });
    const c = await connect({ 'heart-beat': '30,30' });
    await c.waitFor(() => c.heartbeats >= 1, 2000, 'a heart-beat');
    const ended = nextDisconnect(env.server.broker);
    c.ws.terminate();
    await expectGone(ended);
    await c.waitClosed();
    expect(env.timers.live()).toEqual([]);
  });

  it('before CONNECT: the connect timer is cleared', async () => {
    await restart({ limits: { connectTimeout: 60_000 } });
    const raw = await RawWebSocket.open(env.server.port);
    env.sockets.push(raw);
    await untilSessions(env.server.broker, 1);
    expect(env.timers.live()).toHaveLength(1);
    const ended = nextDisconnect(env.server.broker);
    raw.destroy();
    await expectGone(ended);
    expect(env.timers.live()).toEqual([]);
  });

  it('while a SUBSCRIBE waits for an async interceptor (regression): no subscription is left, no queue message is lost to it', async () => {
    // Found by the fuzzer: the subscription was registered after the session had been released,
    // and stayed in the broker as a consumer that dropped every message it was given. Then it was
    // registered and released at once, and listeners saw disconnect → subscribe → unsubscribe.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    await restart({ interceptors: { inbound: [{ preSend: (m) => (m.command === 'SUBSCRIBE' && m.destination === '/queue/slow' ? gate.then(() => undefined) : undefined) }] } });
    const events: string[] = [];
    env.server.broker.on('subscribe', (_s, sub) => events.push(`subscribe ${sub.destination}`));
    env.server.broker.on('unsubscribe', (_s, sub) => events.push(`unsubscribe ${sub.destination}`));
    env.server.broker.on('disconnect', () => events.push('disconnect'));
    const c = await connect();
    c.send('SUBSCRIBE', { id: 'slow', destination: '/queue/slow', receipt: 'never' });
    await c.waitFor(() => env.server.broker.sessions.values().next().value?.subscriptions.size === 1, 2000, 'the SUBSCRIBE to arrive');
    const ended = nextDisconnect(env.server.broker);
    c.ws.terminate();
    await expectGone(ended);
    release();
    // The interceptor's verdict and everything it would start settle in microtasks, before this.
    await gate;
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['disconnect']);
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 0, subscriptions: 0, unacked: 0 });
    await env.server.broker.publish('/queue/slow', 'for a live consumer');
    expect(env.server.broker.stats().queueDepths['/queue/slow']).toBe(1);
    const next = await connect();
    next.send('SUBSCRIBE', { id: 'q', destination: '/queue/slow' });
    expect((await next.expect('MESSAGE')).body.toString()).toBe('for a live consumer');
  });

  it('while CONNECT waits for an async authenticator: the session is gone and CONNECTED is never sent', async () => {
    let release: (value: { name: string }) => void = () => {};
    const seen: string[] = [];
    env.server.broker.on('connected', (s) => seen.push(s.sessionId));
    await restart({ authenticate: () => new Promise((resolve) => (release = resolve)) });
    env.server.broker.on('connected', (s) => seen.push(s.sessionId));
    const c = await RawClient.open(env.server.url);
    env.clients.push(c);
    c.send('CONNECT', { 'accept-version': '1.2', login: 'late' });
    c.send('SUBSCRIBE', { id: '1', destination: '/topic/late' });
    await untilSessions(env.server.broker, 1);
    const ended = nextDisconnect(env.server.broker);
    c.ws.terminate();
    await expectGone(ended);
    release({ name: 'late' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
    expect(env.server.broker.users.count()).toBe(0);
    expect(registryCounts(env.server.broker)).toEqual({ sessions: 0, subscriptions: 0, unacked: 0 });
  });
});
