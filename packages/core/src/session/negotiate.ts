/**
 * CONNECT negotiation as pure functions: protocol version (STOMP 1.2 §"Protocol Negotiation") and
 * heart-beats (§"Heart-beating").
 */
import { SUPPORTED_VERSIONS, type StompVersion } from '../codec/versions';
import { StompError } from '../errors';

/**
 * The highest version both sides speak. An absent `accept-version` means a STOMP 1.0 client
 * (1.1 spec: "if the accept-version header is missing, it means that the client only supports
 * version 1.0"). Returns undefined when nothing matches.
 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion | undefined {
  if (acceptVersion === undefined) return '1.0';
  const offered = acceptVersion.split(',');
  for (const v of SUPPORTED_VERSIONS) {
    if (offered.includes(v)) return v;
  }
  return undefined;
}

export interface Heartbeats {
  /** How often the server must send something (0 = never). */
  send: number;
  /** How often the client promised to send something (0 = not checked). */
  receive: number;
}

/** Parses a `heart-beat` header (`cx,cy`, non-negative integers). Absent = `0,0`. */
export function parseHeartbeat(value: string | undefined): [number, number] {
  if (value === undefined) return [0, 0];
  const match = /^(\d{1,9}),(\d{1,9})$/.exec(value);
  if (match === null) {
    throw new StompError('STOMP_ERR_BAD_HEADER', `invalid heart-beat header '${value}': expected two non-negative integers 'cx,cy'`);
  }
  return [Number(match[1]), Number(match[2])];
}

/**
 * Spec: the server sends every max(sx, cy) ms when both are non-zero; the client sends every
 * max(cx, sy) ms when both are non-zero.
 */
export function negotiateHeartbeat(client: [number, number], server: [number, number]): Heartbeats {
  const [cx, cy] = client;
  const [sx, sy] = server;
  return {
    send: sx > 0 && cy > 0 ? Math.max(sx, cy) : 0,
    receive: cx > 0 && sy > 0 ? Math.max(cx, sy) : 0,
  };
}

/**
 * The server's heart-beat offer for one session. A client that asks for heart-beats more often
 * than the configured offer (its `cy` below our `sx`: "send to me every cy ms"), or that offers
 * to send more often (its `cx` below our `sy`), gets its own rate, rounded up to a multiple of
 * `floor` and never below it; the CONNECTED frame then carries this offer, and the spec's
 * max(sx, cy) / max(cx, sy) rule yields the client's rate on both sides (RabbitMQ also answers
 * per connection). A zero in the configured offer (no heart-beats that way) is kept; rounding to
 * multiples of the floor bounds the distinct periods the shared heart-beat clocks run.
 */
export function sessionOffer(client: [number, number], server: [number, number], floor: number): [number, number] {
  return [lower(server[0], client[1], floor), lower(server[1], client[0], floor)];
}

function lower(offer: number, asked: number, floor: number): number {
  if (offer === 0 || asked === 0 || asked >= offer) return offer;
  return Math.min(offer, Math.max(floor, Math.ceil(asked / floor) * floor));
}
