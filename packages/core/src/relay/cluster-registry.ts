/**
 * The user registry across relay nodes, carried over RabbitMQ itself (no second service).
 *
 * Routing keys on `controlExchange` (default amq.direct), prefixed with the cluster name:
 * - `<cluster>.registry`: every node subscribes (each gets its own exclusive queue, so every node
 *   sees every message). Messages carry `stompkit-node` (the sender) and `stompkit-type`:
 *   `join` / `leave` {user, session} at once for each session of the sender; `snapshot`
 *   {users: {name: [session ids]}, interval} every `registryInterval` and whenever asked;
 *   `hello` when a node (re)connects, which every other node answers with a snapshot; `bye` when a
 *   node closes.
 * - `<cluster>.node.<node id>`: only that node subscribes; user messages for its sessions
 *   (header `stompkit-destination` = the original '/user/<name>/…' destination).
 *
 * Invariants: a snapshot replaces everything known about its node (a node that missed deltas
 * heals within one interval); a node not heard from for 3 × its interval is dropped; expiry pauses
 * while our own control connection is down (silence then says nothing about the others), and each
 * node gets a fresh window once it is back. Everything one node sends goes over its control
 * connection, so RabbitMQ keeps its order.
 */
import { header, type Frame, type HeaderList } from '../codec/frame';
import type { Logger } from '../logger';
import type { BrokerHost, BrokerMessage } from '../broker/types';
import type { RelayConnection } from './relay-connection';
import type { ResolvedRelayOptions } from './relay-options';

export interface ClusterRegistryInit {
  options: ResolvedRelayOptions;
  host: BrokerHost;
  /** The connection carrying the relay's own traffic. */
  control: RelayConnection;
  logger: Logger;
  /** Subscribes `rabbit` on the control connection (now and after every reconnect). */
  subscribe(rabbit: string, onMessage: (frame: Frame) => void): void;
  /** A MESSAGE frame as a BrokerMessage (headers filtered, a new id). */
  toMessage(frame: Frame): BrokerMessage;
}

type Announcement = 'join' | 'leave' | 'hello' | 'snapshot' | 'bye';

export class ClusterRegistry {
  private readonly options: ResolvedRelayOptions;
  private readonly host: BrokerHost;
  private readonly control: RelayConnection;
  private readonly logger: Logger;
  private readonly prefix: string;
  private readonly lastSeen = new Map<string, { at: number; ttl: number }>();
  private timer: NodeJS.Timeout | undefined;
  private snapshotQueued = false;
  private closed = false;

  constructor(private readonly init: ClusterRegistryInit) {
    this.options = init.options;
    this.host = init.host;
    this.control = init.control;
    this.logger = init.logger;
    this.prefix = `/exchange/${this.options.controlExchange}/${this.options.cluster}.`;
  }

  start(): void {
    const users = this.host.users;
    users.setLocalNode(this.host.nodeId);
    users.on('join', (name, sessionId) => this.announce('join', { user: name, session: sessionId }));
    users.on('leave', (name, sessionId) => this.announce('leave', { user: name, session: sessionId }));
    this.init.subscribe(this.prefix + 'registry', (frame) => this.onRegistry(frame));
    this.init.subscribe(this.nodeDestination(this.host.nodeId), (frame) => this.onForwarded(frame));
    this.timer = setInterval(() => this.tick(), this.options.registryInterval);
    this.timer.unref();
  }

  /** The control connection is (back) up: say hello, publish our list, give every node a fresh window. */
  connected(): void {
    const now = Date.now();
    for (const seen of this.lastSeen.values()) seen.at = now;
    this.announce('hello', {});
    this.broadcastSnapshot();
  }

  /** Where user messages for `node`'s sessions go. */
  nodeDestination(node: string): string {
    return `${this.prefix}node.${node}`;
  }

  /** An empty binding of this node (see RelayBroker: releasing unsettled queue deliveries). */
  voidDestination(): string {
    return `${this.prefix}void.${this.host.nodeId}`;
  }

  /** Whether `destination` is one of the relay's own (clients may not use them). */
  isControlDestination(destination: string): boolean {
    return destination.startsWith(this.prefix);
  }

  /** Says `bye` (other nodes drop us at once) and stops the timer. */
  shutdown(): void {
    if (this.closed) return;
    this.announce('bye', {});
    this.closed = true;
    clearInterval(this.timer);
  }

  private headers(type: Announcement): HeaderList {
    return [
      ['destination', this.prefix + 'registry'],
      ['content-type', 'application/json'],
      ['stompkit-node', this.host.nodeId],
      ['stompkit-type', type],
    ];
  }

  private announce(type: Announcement, body: object): void {
    if (!this.control.isUp || this.closed) return;
    this.control.send('SEND', this.headers(type), Buffer.from(JSON.stringify(body)));
  }

  private broadcastSnapshot(): void {
    if (!this.control.isUp || this.closed) return;
    const body = Buffer.from(JSON.stringify({ users: this.host.users.localSnapshot(), interval: this.options.registryInterval }));
    // With a receipt: the periodic snapshot doubles as the round-trip measurement in stats.
    this.control.request('SEND', this.headers('snapshot'), body).catch((err: unknown) => this.logger.debug({ err }, 'registry snapshot not confirmed'));
  }

  private tick(): void {
    this.broadcastSnapshot();
    // Without our own registry subscription we hear nobody: that says nothing about the others.
    if (!this.control.isUp) return;
    const now = Date.now();
    for (const [node, seen] of this.lastSeen) {
      if (now - seen.at > seen.ttl) {
        this.lastSeen.delete(node);
        this.host.users.dropNode(node);
        this.logger.info({ node }, 'relay node silent for too long; dropped from the user registry');
      }
    }
  }

  private onRegistry(frame: Frame): void {
    const users = this.host.users;
    const node = header(frame, 'stompkit-node');
    if (node === undefined || node === this.host.nodeId) return;
    const type = header(frame, 'stompkit-type');
    if (type === 'bye') {
      this.lastSeen.delete(node);
      users.dropNode(node);
      return;
    }
    let body: { users?: Record<string, string[]>; interval?: number; user?: string; session?: string };
    try {
      body = JSON.parse(frame.body.toString('utf8')) as typeof body;
    } catch {
      return;
    }
    const seen = this.lastSeen.get(node);
    const interval = typeof body.interval === 'number' && body.interval > 0 ? body.interval : this.options.registryInterval;
    this.lastSeen.set(node, { at: Date.now(), ttl: type === 'snapshot' ? interval * 3 : (seen?.ttl ?? interval * 3) });
    if (type === 'snapshot' && body.users !== undefined && typeof body.users === 'object') users.setRemote(node, body.users);
    else if (type === 'join' && typeof body.user === 'string' && typeof body.session === 'string') users.addRemote(node, body.user, body.session);
    else if (type === 'leave' && typeof body.user === 'string' && typeof body.session === 'string') users.removeRemote(node, body.user, body.session);
    else if (type === 'hello' && !this.snapshotQueued) {
      this.snapshotQueued = true;
      setImmediate(() => {
        this.snapshotQueued = false;
        this.broadcastSnapshot();
      });
    }
  }

  private onForwarded(frame: Frame): void {
    const destination = header(frame, 'stompkit-destination');
    if (destination === undefined) return;
    const message = { ...this.init.toMessage(frame), destination };
    try {
      const result = this.host.deliverToUser(message);
      if (result instanceof Promise) result.catch((err: unknown) => this.logger.error({ err, destination }, 'delivering a forwarded user message failed'));
    } catch (err) {
      this.logger.error({ err, destination }, 'delivering a forwarded user message failed');
    }
  }
}
