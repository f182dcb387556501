/**
 * What the inspector page shows, as JSON: live sessions, subscriptions per destination, queue
 * depths, the counters, and message rates.
 *
 * Rates come from counter deltas. A sample of the totals is taken when a snapshot is asked for
 * (at most one per `minSampleInterval`), and each pair of consecutive samples gives one point of
 * the rate history. Nothing runs while nobody looks: no timer, no per-message work; several open
 * pages share the same samples.
 */
import type { StompBroker } from '../stomp-broker';
import { sumByPrefix, type StompBrokerStats } from '../metrics/metrics';

export interface InspectorSession {
  id: string;
  /** The principal's name; null for anonymous sessions. */
  user: string | null;
  /** Negotiated STOMP version; null before CONNECT. */
  version: string | null;
  state: string;
  remoteAddress: string | null;
  /** How the client is connected: 'websocket', 'tcp', 'tls', or 'sockjs/<SockJS transport>' (e.g. 'sockjs/xhr-streaming'). */
  transport: string;
  /** The handshake's Origin header; null when the client sent none (not a browser). */
  origin: string | null;
  /** When the WebSocket was opened (ms since the epoch) and how long ago (ms). */
  connectedAt: number;
  age: number;
  subscriptions: number;
  /** Bytes waiting on the socket and in the session's backlog. */
  outboundBytes: number;
}

/** Per-second rates over one sampling interval, ending at `at`. */
export interface RatePoint {
  at: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export interface InspectorSnapshot {
  /** When this snapshot was taken (ms since the epoch). */
  at: number;
  server: string;
  stats: StompBrokerStats;
  /** The latest rates (null until two samples exist). */
  rates: RatePoint | null;
  /** Rate points of the last `historySeconds`, oldest first. */
  history: RatePoint[];
  /** The oldest sessions first, at most `maxSessions` of them. */
  sessions: InspectorSession[];
  /** Total live sessions (may exceed `sessions.length`). */
  sessionCount: number;
  /** Client subscriptions per destination as subscribed ('/topic/chat/**', '/user/queue/errors'), most subscribed first. */
  destinations: Array<{ destination: string; subscriptions: number }>;
  /** Messages held per queue, deepest first. */
  queues: Array<{ destination: string; depth: number }>;
  /**
   * Online users (at most `maxSessions`), by name; with a relay broker, of every node, with the
   * ids of the nodes they are connected to (`nodes`, null without a relay).
   */
  users: Array<{ name: string; sessions: number; nodes: string[] | null }>;
}

export interface InspectorModelOptions {
  /** Sessions listed in a snapshot (the oldest first). Default 500. */
  maxSessions?: number;
  /** Seconds of rate history kept. Default 120. */
  historySeconds?: number;
  /** Samples closer together than this (ms) are not taken. Default 500. */
  minSampleInterval?: number;
}

interface Sample {
  at: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

const MAX_DESTINATIONS = 200;

export class InspectorModel {
  private readonly maxSessions: number;
  private readonly historyMs: number;
  private readonly minSampleInterval: number;
  private last: Sample | undefined;
  private readonly history: RatePoint[] = [];

  constructor(
    private readonly broker: StompBroker,
    options: InspectorModelOptions = {},
  ) {
    this.maxSessions = options.maxSessions ?? 500;
    this.historyMs = (options.historySeconds ?? 120) * 1000;
    this.minSampleInterval = options.minSampleInterval ?? 500;
  }

  snapshot(): InspectorSnapshot {
    const now = Date.now();
    const stats = this.broker.stats();
    this.sample(now, stats);
    const sessions: InspectorSession[] = [];
    const perDestination = new Map<string, number>();
    for (const session of this.broker.sessions.values()) {
      for (const sub of session.subscriptions.values()) perDestination.set(sub.destination, (perDestination.get(sub.destination) ?? 0) + 1);
      if (sessions.length >= this.maxSessions) continue;
      const connected = session.state !== 'awaiting-connect' && session.state !== 'connecting';
      sessions.push({
        id: session.sessionId,
        user: session.user?.name ?? null,
        version: connected ? session.version : null,
        state: session.state,
        remoteAddress: session.remoteAddress ?? null,
        transport: session.transport,
        origin: session.origin ?? null,
        connectedAt: session.connectedAt,
        age: now - session.connectedAt,
        subscriptions: session.subscriptions.size,
        outboundBytes: session.outboundBytes,
      });
    }
    const destinations = [...perDestination]
      .map(([destination, subscriptions]) => ({ destination, subscriptions }))
      .sort((a, b) => b.subscriptions - a.subscriptions || compare(a.destination, b.destination))
      .slice(0, MAX_DESTINATIONS);
    const queues = Object.entries(stats.queueDepths)
      .map(([destination, depth]) => ({ destination, depth }))
      .sort((a, b) => b.depth - a.depth || compare(a.destination, b.destination))
      .slice(0, MAX_DESTINATIONS);
    const history = this.history.slice();
    const users = this.broker.users
      .list()
      .slice(0, this.maxSessions)
      .map((u) => ({ name: u.name, sessions: u.sessionIds.length, nodes: u.nodes ?? null }))
      .sort((a, b) => compare(a.name, b.name));
    return {
      at: now,
      server: this.broker.options.serverName,
      stats,
      rates: history.length > 0 ? history[history.length - 1] : null,
      history,
      sessions,
      sessionCount: this.broker.sessions.size,
      destinations,
      queues,
      users,
    };
  }

  private sample(now: number, stats: StompBrokerStats): void {
    const last = this.last;
    if (last !== undefined && now - last.at < this.minSampleInterval) return;
    const sample: Sample = {
      at: now,
      messagesIn: sumByPrefix(stats.messagesIn),
      messagesOut: sumByPrefix(stats.messagesOut),
      bytesIn: sumByPrefix(stats.bytesIn),
      bytesOut: sumByPrefix(stats.bytesOut),
    };
    this.last = sample;
    if (last === undefined) return;
    const seconds = (now - last.at) / 1000;
    // A gap longer than the history (nobody looked for a while) would be one flat average: start over.
    if (now - last.at > this.historyMs) {
      this.history.length = 0;
      return;
    }
    this.history.push({
      at: now,
      messagesIn: (sample.messagesIn - last.messagesIn) / seconds,
      messagesOut: (sample.messagesOut - last.messagesOut) / seconds,
      bytesIn: (sample.bytesIn - last.bytesIn) / seconds,
      bytesOut: (sample.bytesOut - last.bytesOut) / seconds,
    });
    let drop = 0;
    while (drop < this.history.length && now - this.history[drop].at > this.historyMs) drop++;
    if (drop > 0) this.history.splice(0, drop);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
