/**
 * Shared by the app/, user/ and channel/ suites: a server whose CONNECT `login` header becomes the
 * principal's name, and small waits built on RawClient (no sleeps: every wait is on a frame).
 */
import { RawClient, type RawFrame } from '../helpers/raw-client';
import { startServer, type TestServer } from '../helpers/server';
import type { Authenticator, BrokerOptions } from '../../src';

/** CONNECT `login:alice` → principal { name: 'alice' }; no login → anonymous. */
export const loginAsUser: Authenticator = (info) => (info.login ? { name: info.login } : undefined);

export async function startAppServer(options: BrokerOptions = {}): Promise<TestServer> {
  return startServer({ heartbeat: [0, 0], authenticate: loginAsUser, ...options });
}

export class Clients {
  private readonly open: RawClient[] = [];

  constructor(private readonly server: () => TestServer) {}

  /** A connected STOMP 1.2 client, as user `login` (anonymous without). */
  async connect(login?: string, version = '1.2'): Promise<RawClient> {
    const headers: Record<string, string> = { 'accept-version': version, host: 'localhost' };
    if (login !== undefined) headers.login = login;
    const c = await RawClient.connect(this.server().url, headers);
    this.open.push(c);
    return c;
  }

  closeAll(): void {
    for (const c of this.open.splice(0)) c.close();
  }
}

/** SUBSCRIBE with a receipt and wait for it: the subscription is live when this resolves. */
export async function subscribeLive(c: RawClient, destination: string, id: string = destination, headers: Record<string, string> = {}): Promise<void> {
  const receipt = `sub-${id}`;
  c.send('SUBSCRIBE', { id, destination, receipt, ...headers });
  const f = await c.expect('RECEIPT');
  expect(f.headers['receipt-id']).toBe(receipt);
}

/** SEND JSON with a receipt and wait for the receipt (and for any frames before it, returned). */
export async function sendJson(c: RawClient, destination: string, payload: unknown, headers: Record<string, string> = {}): Promise<RawFrame[]> {
  const receipt = `send-${Math.random().toString(36).slice(2)}`;
  c.send('SEND', { destination, 'content-type': 'application/json', receipt, ...headers }, JSON.stringify(payload));
  return untilReceipt(c, receipt);
}

/** Frames received until (excluding) the RECEIPT with `receiptId`. */
export async function untilReceipt(c: RawClient, receiptId: string): Promise<RawFrame[]> {
  const before: RawFrame[] = [];
  for (;;) {
    const f = await c.next();
    if (f.command === 'RECEIPT' && f.headers['receipt-id'] === receiptId) return before;
    if (f.command === 'ERROR') throw new Error(`ERROR: ${f.headers.message}`);
    before.push(unescaped(f));
  }
}

export function json(frame: RawFrame): unknown {
  return JSON.parse(frame.body.toString('utf8'));
}

/** Expects a MESSAGE and returns it, header values unescaped (STOMP 1.2: \\c → ':', …). */
export async function nextMessage(c: RawClient): Promise<RawFrame> {
  return unescaped(await c.expect('MESSAGE'));
}

/** Expects ERROR (its unescaped `message` containing `text`) then the close; returns the frame, unescaped. */
export async function expectError(c: RawClient, text: string): Promise<RawFrame> {
  const frame = unescaped(await c.expect('ERROR'));
  expect(frame.headers.message).toContain(text);
  await c.waitClosed();
  return frame;
}

/** The frame with its header values unescaped per STOMP 1.2 (the raw client leaves them as sent). */
export function unescaped(frame: RawFrame): RawFrame {
  const unescape = (v: string): string => v.replace(/\\([\\cnr])/g, (_, c: string) => (c === 'c' ? ':' : c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
  const headerList = frame.headerList.map(([k, v]) => [unescape(k), unescape(v)] as [string, string]);
  const headers: Record<string, string> = {};
  for (const [k, v] of headerList) if (!(k in headers)) headers[k] = v;
  return { ...frame, headers, headerList };
}
