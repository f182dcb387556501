/**
 * The demo mounts stompkit's inspector (live sessions, subscriptions, traffic, errors) at
 * /stomp-inspector, for requests from this machine only: the peer address of the TCP connection
 * must be a loopback address. The page shows user names, addresses and destinations, so it is
 * never open to the network. Headers such as X-Forwarded-For are not trusted; behind a reverse
 * proxy on the same host every request would look local, so the demo is not meant to be deployed
 * that way (a real app authorizes its inspector with its own admin check).
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const INSPECTOR_PATH = '/stomp-inspector';

/** 127.0.0.0/8, ::1, and IPv4 loopback written as an IPv4-mapped IPv6 address (::ffff:127.x.y.z). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(address) === 6 && /^(0{0,4}:){7}0{0,3}1$|^::1$/i.test(address);
}

/** The inspector's `authorize`: only requests whose TCP peer is this machine. */
export function fromLoopback(req: IncomingMessage): boolean {
  return isLoopbackAddress(req.socket.remoteAddress);
}
