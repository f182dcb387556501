/**
 * RelayBroker: the {@link Broker} that makes many stompkit nodes one broker through RabbitMQ's
 * STOMP plugin. Sessions, the channel, handlers and user destinations do not know it is there.
 *
 * Where each destination lives
 * - Topic destinations ('/topic/…'): ONE RabbitMQ subscription per destination per node, however
 *   many local subscribers it has ({@link Route} kind 'topic', `ack:auto`). A MESSAGE from it is
 *   turned into one BrokerMessage and handed to every local subscriber of exactly that
 *   destination (so encoding happens once per message, and overlapping wildcard subscriptions
 *   — '/topic/a/*' and '/topic/a/b' — each get their copy exactly once). Selectors and the
 *   wildcard guard run here, on the local fan-out.
 * - Queue destinations (queuePrefixes) and RabbitMQ-native ones ('/exchange/…', '/amq/queue/…',
 *   '/temp-queue/…', '/reply-queue/…' when they are broker prefixes): ONE RabbitMQ subscription per
 *   client subscription, with its own id and `prefetch-count`, `ack:client-individual` for both
 *   client modes (a `client` ACK is applied cumulatively here, one RabbitMQ ACK per message, since
 *   RabbitMQ's subscriptions on one connection share a channel). So competing consumers across
 *   nodes, NACK and redelivery are RabbitMQ's own. Ack ids are ours (`~<n>`), mapped both ways.
 * - Per-session destinations ('/queue/x-user<session id>', what '/user/…' resolves to): kept in
 *   an in-memory SimpleBroker on this node. A user message for a session on another node travels
 *   to that node first (forwardToUser), then resolves there.
 *
 * Connections: `relay.connections` STOMP connections (relay-connection.ts), fixed. A topic route
 * goes on the connection its destination hashes to; a queue subscription and a client's SENDs on
 * the one its session hashes to (a session's frames keep their order). Connection 0 also carries
 * the relay's own traffic.
 *
 * Releasing a queue subscription that still holds unacked messages: RabbitMQ keeps a cancelled
 * subscription's unacked deliveries on the (shared, long-lived) channel forever, and refuses a
 * NACK naming a cancelled subscription. So: UNSUBSCRIBE (receipt) → SUBSCRIBE the same id to an
 * empty exchange binding → NACK (requeue) every unsettled delivery → UNSUBSCRIBE. RabbitMQ then
 * redelivers them, `redelivered:true`, to other consumers.
 *
 * Failure: when a connection drops, its requests in flight fail (a SEND with receipt gets an
 * ERROR: STOMP_ERR_BROKER_UNAVAILABLE); topic routes and queue subscriptions without unacked
 * deliveries are subscribed again once it is back; a session whose queue subscription had unacked
 * deliveries is ended with an ERROR saying so (RabbitMQ redelivers them). While no connection is
 * up, SEND and SUBSCRIBE to RabbitMQ destinations get that ERROR at once (during the very first
 * connect they wait for it).
 *
 * The user registry across nodes and user messages for other nodes travel over RabbitMQ too
 * (cluster-registry.ts), on connection 0.
 */
import { header, SERVER_OWNED_HEADERS, type Frame, type HeaderList } from '../codec/frame';
import { StompError } from '../errors';
import { silentLogger, type Logger } from '../logger';
import { SimpleBroker } from '../broker/simple-broker';
import type { Broker, BrokerHost, BrokerMessage, BrokerStats, Consumer, Delivery, SubscriptionSpec } from '../broker/types';
import { isSessionDestination } from '../user/user-destinations';
import { RelayDestinations, type Separator } from './destination-map';
import { ClusterRegistry } from './cluster-registry';
import { RelayConnection, unavailable } from './relay-connection';
import { resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './relay-options';

export type { RelayOptions } from './relay-options';

export interface RelayBrokerOptions extends RelayOptions {
  /** Set by createBroker from its own options; give them when constructing a RelayBroker yourself. */
  brokerPrefixes?: string[];
  queuePrefixes?: string[];
  destinationSeparator?: Separator;
  nextId?: () => string;
  logger?: Logger;
}

type RouteKind = 'topic' | 'queue' | 'control';

/** One RabbitMQ subscription. */
interface Route {
  readonly kind: RouteKind;
  readonly relayId: string;
  readonly destination: string;
  readonly rabbit: string;
  readonly headers: HeaderList;
  readonly conn: RelayConnection;
  /** Topic: every local subscriber of the destination; queue: exactly one. */
  readonly locals: Set<LocalSubscription>;
  /** The SUBSCRIBE awaiting RabbitMQ's receipt. */
  live: Promise<void> | undefined;
  /** RabbitMQ confirmed the SUBSCRIBE on the current connection. */
  subscribed: boolean;
  closing: boolean;
  /** RabbitMQ ack ids of deliveries that arrived while closing. */
  stragglers: string[];
  onMessage?: (frame: Frame) => void;
}

interface LocalSubscription {
  readonly consumer: Consumer;
  readonly spec: SubscriptionSpec;
  readonly route: Route;
  /** Our ack id → RabbitMQ's ('' for topic deliveries), in delivery order. */
  readonly pending: Map<string, string>;
}

/**
 * Headers RabbitMQ reads on a SEND to '/queue/…' as the queue's declaration. They are not relayed:
 * one that disagrees with the existing queue is a channel error (PRECONDITION_FAILED), after which
 * RabbitMQ closes the whole shared connection, so any client could cut every session of a node.
 */
const QUEUE_DECLARATION_HEADERS: ReadonlySet<string> = new Set([
  'durable', 'auto-delete', 'exclusive', 'x-queue-name', 'x-queue-type', 'x-dead-letter-exchange', 'x-dead-letter-routing-key',
  'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-max-priority', 'x-message-ttl', 'x-overflow', 'x-queue-mode',
  'x-queue-master-locator', 'x-single-active-consumer', 'x-delivery-limit', 'x-max-age', 'x-initial-cluster-size',
  'x-stream-max-segment-size-bytes', 'x-max-in-memory-length', 'x-max-in-memory-bytes',
]);

export class RelayBroker implements Broker {
  readonly options: ResolvedRelayOptions;
  readonly connections: readonly RelayConnection[];
  private readonly local: SimpleBroker;
  private readonly names: RelayDestinations;
  private readonly nextId: () => string;
  private logger: Logger;
  private host: BrokerHost | undefined;
  private nodeId = 'node';

  private readonly routes = new Map<string, Route>();
  private readonly topics = new Map<string, Route>();
  private readonly sessions = new Map<string, Map<string, LocalSubscription>>();
  private readonly inFlight = new Map<string, LocalSubscription>();
  private routeCounter = 0;
  private ackCounter = 0;
  private subscriptionCount = 0;
  private published = 0;
  private delivered = 0;
  private relayedIn = 0;
  private relayedOut = 0;
  private redelivered = 0;

  private registry: ClusterRegistry | undefined;
  private closed = false;

  constructor(options: RelayBrokerOptions) {
    this.options = resolveRelayOptions(options);
    const queuePrefixes = options.queuePrefixes ?? ['/queue'];
    const separator = options.destinationSeparator ?? '/';
    this.names = new RelayDestinations(options.brokerPrefixes ?? ['/topic', '/queue'], queuePrefixes, separator, (d) => this.registry?.isControlDestination(d) === true);
    this.nextId = options.nextId ?? defaultIds();
    this.logger = options.logger ?? silentLogger;
    this.local = new SimpleBroker({
      queuePrefixes,
      destinationSeparator: separator,
      nextId: this.nextId,
      onConsumerError: (err, sessionId) => this.logger.error({ err, sessionId }, 'a subscriber threw while receiving a message'),
    });
    const connectionOptions = {
      ...this.options,
      maxFrameBytes: this.options.maxFrameBytes ?? 1024 * 1024 + 64 * 1024,
      logger: this.logger,
    };
    this.connections = Array.from({ length: this.options.connections }, (_, i) => new RelayConnection(`relay-${i}`, { ...connectionOptions, logger: this.logger }));
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  start(host: BrokerHost): void {
    if (this.host !== undefined) return;
    this.host = host;
    this.nodeId = host.nodeId;
    this.logger = host.logger;
    this.registry = new ClusterRegistry({
      options: this.options,
      host,
      control: this.connections[0],
      logger: this.logger,
      subscribe: (rabbit, onMessage) => {
        this.addRoute('control', '', rabbit, [['ack', 'auto']], this.connections[0]).onMessage = onMessage;
      },
      toMessage: (frame) => this.toMessage(frame, undefined),
    });
    this.registry.start();
    for (const conn of this.connections) {
      conn.on('up', () => this.connectionUp(conn));
      conn.on('down', (reason) => this.connectionDown(conn, reason));
      conn.on('message', (frame) => this.onMessage(frame));
      conn.on('refused', (message, detail) => this.refused(conn, message, detail));
      conn.start();
    }
  }

  /** Resolves once every relay connection is up (or rejects after `timeout` ms). Handy at start-up and in tests. */
  ready(timeout = this.options.connectTimeout): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.connections.every((c) => c.isUp)) finish();
      };
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        for (const c of this.connections) c.off('up', check);
        if (err === undefined) resolve();
        else reject(err);
      };
      const timer = setTimeout(() => finish(unavailable(`RabbitMQ not reachable within ${timeout} ms`)), timeout);
      for (const c of this.connections) c.on('up', check);
      check();
    });
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.registry?.shutdown();
    await Promise.all(this.connections.map((c) => c.close()));
  }

  // ---- Broker ------------------------------------------------------------------------------------

  subscribe(consumer: Consumer, spec: SubscriptionSpec): void | Promise<void> {
    const destination = spec.destination;
    if (isSessionDestination(destination)) return this.local.subscribe(consumer, spec);
    const native = this.names.isNative(destination);
    const queue = native || this.names.isQueue(destination);
    if (queue && !native && destination.includes('*')) {
      throw new StompError('STOMP_ERR_DESTINATION', `cannot subscribe to '${destination}': wildcards are only allowed on topic destinations`);
    }
    // A filter on an '/exchange/…' subscription (its own RabbitMQ queue) discards what it rejects,
    // like a topic; on a shared queue it would have to leave messages for others, which RabbitMQ cannot.
    if (this.names.isQueue(destination) && spec.filter !== undefined) {
      throw new StompError('STOMP_ERR_BAD_SELECTOR', `cannot subscribe to '${destination}' with a selector: RabbitMQ cannot filter queue deliveries (selectors work on topic destinations)`);
    }
    const rabbit = this.names.toRabbit(destination);
    if (this.sessions.get(consumer.sessionId)?.has(spec.id)) {
      throw new StompError('STOMP_ERR_DUPLICATE_SUBSCRIPTION', `subscription id '${spec.id}' is already in use on this session`);
    }
    let route: Route;
    if (queue) {
      const headers: HeaderList = [['ack', spec.ack === 'auto' ? 'auto' : 'client-individual']];
      // Always explicit: RabbitMQ's prefetch is a per-channel setting applied to the consumers created
      // after it, and one connection's subscriptions share a channel (0 = unlimited).
      if (spec.ack !== 'auto') headers.push(['prefetch-count', String(spec.prefetch ?? 0)]);
      route = this.addRoute('queue', destination, rabbit, headers, this.pick(consumer.sessionId));
    } else {
      route = this.topics.get(destination) ?? this.addRoute('topic', destination, rabbit, [['ack', 'auto']], this.pick(destination));
    }
    const sub: LocalSubscription = { consumer, spec, route, pending: new Map() };
    route.locals.add(sub);
    this.track(sub);
    const failed = (err: unknown): never => {
      this.forget(sub);
      if (route.kind === 'queue') this.routes.delete(route.relayId);
      throw err;
    };
    let wait: Promise<void> | undefined;
    try {
      wait = this.whenAvailable(route.conn);
    } catch (err) {
      return failed(err);
    }
    const live = (): Promise<void> | undefined => {
      if (route.subscribed) return undefined;
      if (route.live !== undefined) return route.live;
      if (!route.conn.isUp) throw unavailable(route.conn.lastError ?? 'not connected');
      return (route.live = this.subscribeRoute(route));
    };
    try {
      const result = wait === undefined ? live() : wait.then(live);
      if (result === undefined) return;
      return result.then(() => undefined, failed);
    } catch (err) {
      return failed(err);
    }
  }

  unsubscribe(sessionId: string, subscriptionId: string): boolean | Promise<boolean> {
    const sub = this.sessions.get(sessionId)?.get(subscriptionId);
    if (sub === undefined) return this.local.unsubscribe(sessionId, subscriptionId);
    return this.release(sub);
  }

  publish(message: BrokerMessage): void | Promise<void> {
    const destination = message.destination;
    if (isSessionDestination(destination)) return this.local.publish(message);
    if (!this.names.isNative(destination) && destination.includes('*')) {
      throw new StompError('STOMP_ERR_DESTINATION', `cannot send to '${destination}': wildcards are for SUBSCRIBE only`);
    }
    const rabbit = this.names.toRabbit(destination);
    const conn = this.pick(message.senderSessionId ?? destination);
    const headers: HeaderList = [['destination', rabbit]];
    if (message.contentType !== undefined) headers.push(['content-type', message.contentType]);
    for (const h of message.headers) if (!QUEUE_DECLARATION_HEADERS.has(h[0])) headers.push(h);
    const wait = this.whenAvailable(conn);
    if (wait !== undefined) return wait.then(() => this.send(conn, headers, message));
    return this.send(conn, headers, message);
  }

  ack(sessionId: string, ackId: string): boolean | Promise<boolean> {
    return this.settle(sessionId, ackId, 'ACK');
  }

  nack(sessionId: string, ackId: string): boolean | Promise<boolean> {
    return this.settle(sessionId, ackId, 'NACK');
  }

  disconnect(sessionId: string): void | Promise<void> {
    const subs = this.sessions.get(sessionId);
    const local = this.local.disconnect(sessionId);
    if (subs === undefined) return local;
    const pending: Promise<boolean>[] = [];
    for (const sub of [...subs.values()]) {
      const result = this.release(sub);
      if (typeof result !== 'boolean') pending.push(result);
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  resume(sessionId: string): void {
    this.local.resume(sessionId);
  }

  forwardToUser(name: string, message: BrokerMessage): void | Promise<void> {
    const nodes = this.host?.users.nodesOf(name) ?? [];
    if (nodes.length === 0) return;
    const conn = this.pick(message.senderSessionId ?? name);
    const sends: Array<Promise<void>> = [];
    for (const node of nodes) {
      const headers: HeaderList = [
        ['destination', this.registry!.nodeDestination(node)],
        ['stompkit-node', this.nodeId],
        ['stompkit-destination', message.destination],
      ];
      if (message.contentType !== undefined) headers.push(['content-type', message.contentType]);
      for (const h of message.headers) headers.push(h);
      const result = this.send(conn, headers, message);
      if (result !== undefined) sends.push(result);
    }
    if (sends.length > 0) return Promise.all(sends).then(() => undefined);
  }

  stats(): BrokerStats {
    const local = this.local.stats();
    let up = 0;
    let reconnects = 0;
    let roundTrip = -1;
    for (const c of this.connections) {
      if (c.isUp) up++;
      reconnects += c.reconnects;
      if (c.roundTrip >= 0 && (roundTrip < 0 || c.roundTrip < roundTrip)) roundTrip = c.roundTrip;
    }
    const destinations = new Set<string>();
    for (const route of this.routes.values()) if (route.kind !== 'control') destinations.add(route.destination);
    let unackedRelay = 0;
    for (const sub of this.inFlight.values()) if (sub.route.kind === 'queue') unackedRelay++;
    return {
      subscriptions: local.subscriptions + this.subscriptionCount,
      destinations: local.destinations + destinations.size,
      queueDepths: local.queueDepths,
      unacked: local.unacked + this.inFlight.size,
      published: local.published + this.published,
      delivered: local.delivered + this.delivered,
      redelivered: local.redelivered + this.redelivered,
      deadLettered: local.deadLettered,
      dropped: local.dropped,
      relay: {
        connected: up === this.connections.length,
        connectionsUp: up,
        connections: this.connections.length,
        reconnects,
        roundTripMs: roundTrip < 0 ? -1 : Math.round(roundTrip * 1000) / 1000,
        relayedOut: this.relayedOut,
        relayedIn: this.relayedIn,
        rabbitSubscriptions: this.routes.size,
        node: this.nodeId,
        nodes: this.host?.users.remoteNodes() ?? [],
      },
    };
  }

  // ---- subscriptions -----------------------------------------------------------------------------

  private addRoute(kind: RouteKind, destination: string, rabbit: string, headers: HeaderList, conn: RelayConnection): Route {
    const relayId = `${kind[0]}${(++this.routeCounter).toString(36)}`;
    const route: Route = { kind, relayId, destination, rabbit, headers, conn, locals: new Set(), live: undefined, subscribed: false, closing: false, stragglers: [] };
    this.routes.set(relayId, route);
    if (kind === 'topic') this.topics.set(destination, route);
    return route;
  }

  private subscribeRoute(route: Route): Promise<void> {
    const live = route.conn.request('SUBSCRIBE', [['id', route.relayId], ['destination', route.rabbit], ...route.headers]);
    const done = live.then(
      () => {
        if (route.live === done) {
          route.live = undefined;
          route.subscribed = true;
        }
      },
      (err: unknown) => {
        if (route.live === done) route.live = undefined;
        throw err;
      },
    );
    return done;
  }

  private track(sub: LocalSubscription): void {
    const sessionId = sub.consumer.sessionId;
    let subs = this.sessions.get(sessionId);
    if (subs === undefined) this.sessions.set(sessionId, (subs = new Map()));
    subs.set(sub.spec.id, sub);
    this.subscriptionCount++;
  }

  /** Drops a local subscription from every index; returns RabbitMQ ack ids it still held. */
  private forget(sub: LocalSubscription): string[] {
    const sessionId = sub.consumer.sessionId;
    const subs = this.sessions.get(sessionId);
    if (subs?.get(sub.spec.id) === sub) {
      subs.delete(sub.spec.id);
      if (subs.size === 0) this.sessions.delete(sessionId);
      this.subscriptionCount--;
    }
    const held: string[] = [];
    for (const [ackId, rabbitAck] of sub.pending) {
      this.inFlight.delete(ackId);
      if (rabbitAck !== '') held.push(rabbitAck);
    }
    sub.pending.clear();
    const route = sub.route;
    if (route.locals.delete(sub) && route.locals.size === 0 && route.kind === 'topic') {
      if (this.topics.get(route.destination) === route) this.topics.delete(route.destination);
      this.routes.delete(route.relayId);
      if (route.conn.isUp) {
        const unsubscribe = (): void => {
          if (route.conn.isUp) route.conn.send('UNSUBSCRIBE', [['id', route.relayId]]);
        };
        if (route.live === undefined) unsubscribe();
        else route.live.then(unsubscribe, () => undefined);
      }
    }
    return held;
  }

  /** Ends a local subscription; a queue subscription's unsettled deliveries go back to RabbitMQ. */
  private release(sub: LocalSubscription): boolean | Promise<boolean> {
    const route = sub.route;
    const held = this.forget(sub);
    if (route.kind !== 'queue') return true;
    route.closing = true;
    const conn = route.conn;
    if (!conn.isUp) {
      this.routes.delete(route.relayId);
      return true;
    }
    const release = async (): Promise<boolean> => {
      try {
        if (route.live !== undefined) await route.live.catch(() => undefined);
        await conn.request('UNSUBSCRIBE', [['id', route.relayId]]);
        const unsettled = [...held, ...route.stragglers];
        if (unsettled.length > 0) {
          // See the file comment: RabbitMQ only takes a NACK for a subscription id it knows.
          await conn.request('SUBSCRIBE', [['id', route.relayId], ['destination', this.registry!.voidDestination()], ['ack', 'client-individual']]);
          for (const rabbitAck of unsettled) conn.send('NACK', [['id', rabbitAck]]);
          await conn.request('UNSUBSCRIBE', [['id', route.relayId]]);
        }
      } catch (err) {
        // The connection dropped meanwhile: RabbitMQ requeued everything with the channel.
        this.logger.debug({ err, destination: route.destination }, 'releasing a queue subscription was cut short');
      } finally {
        this.routes.delete(route.relayId);
      }
      return true;
    };
    return release();
  }

  // ---- messages from RabbitMQ --------------------------------------------------------------------

  private onMessage(frame: Frame): void {
    const relayId = header(frame, 'subscription');
    const route = relayId === undefined ? undefined : this.routes.get(relayId);
    if (route === undefined) return;
    this.relayedIn++;
    if (route.onMessage !== undefined) {
      route.onMessage(frame);
      return;
    }
    const rabbitAck = header(frame, 'ack');
    if (route.closing || route.locals.size === 0) {
      if (rabbitAck !== undefined) route.stragglers.push(rabbitAck);
      return;
    }
    const redelivered = header(frame, 'redelivered') === 'true';
    if (redelivered) this.redelivered++;
    const message = this.toMessage(frame, route);
    if (route.kind === 'topic') {
      for (const sub of route.locals) this.deliver(sub, message, '', false);
    } else {
      for (const sub of route.locals) this.deliver(sub, message, rabbitAck ?? '', redelivered);
    }
  }

  private deliver(sub: LocalSubscription, message: BrokerMessage, rabbitAck: string, redelivered: boolean): void {
    const spec = sub.spec;
    if (spec.filter !== undefined && !spec.filter(message)) {
      // Not for this subscriber: an unsettled RabbitMQ delivery is acknowledged away.
      if (rabbitAck !== '' && spec.ack !== 'auto' && sub.route.conn.isUp) sub.route.conn.send('ACK', [['id', rabbitAck]]);
      return;
    }
    let ackId: string | undefined;
    if (spec.ack !== 'auto') {
      ackId = `~${(++this.ackCounter).toString(36)}`;
      sub.pending.set(ackId, rabbitAck);
      this.inFlight.set(ackId, sub);
    }
    const delivery: Delivery = ackId === undefined ? { message, subscriptionId: spec.id, redelivered } : { message, subscriptionId: spec.id, ackId, redelivered };
    this.delivered++;
    try {
      sub.consumer.deliver(delivery);
    } catch (err) {
      this.logger.error({ err, sessionId: sub.consumer.sessionId }, 'a subscriber threw while receiving a message');
    }
  }

  private toMessage(frame: Frame, route: Route | undefined): BrokerMessage {
    const headers: HeaderList = [];
    for (const h of frame.headers) if (!SERVER_OWNED_HEADERS.has(h[0]) && !h[0].startsWith('stompkit-')) headers.push(h);
    const rabbit = header(frame, 'destination') ?? route?.rabbit ?? '';
    const message: { -readonly [K in keyof BrokerMessage]: BrokerMessage[K] } = {
      id: this.nextId(),
      destination: this.names.fromRabbit(rabbit),
      headers,
      body: frame.body,
    };
    const contentType = header(frame, 'content-type');
    if (contentType !== undefined) message.contentType = contentType;
    return message;
  }

  private settle(sessionId: string, ackId: string, command: 'ACK' | 'NACK'): boolean | Promise<boolean> {
    const sub = this.inFlight.get(ackId);
    if (sub === undefined) return command === 'ACK' ? this.local.ack(sessionId, ackId) : this.local.nack(sessionId, ackId);
    if (sub.consumer.sessionId !== sessionId) return false;
    const conn = sub.route.conn;
    const settleOne = (id: string, rabbitAck: string): void => {
      sub.pending.delete(id);
      this.inFlight.delete(id);
      if (rabbitAck !== '' && conn.isUp) conn.send(command, [['id', rabbitAck]]);
    };
    if (sub.spec.ack === 'client') {
      for (const [id, rabbitAck] of [...sub.pending]) {
        settleOne(id, rabbitAck);
        if (id === ackId) break;
      }
    } else {
      settleOne(ackId, sub.pending.get(ackId)!);
    }
    return true;
  }

  // ---- publishing --------------------------------------------------------------------------------

  private send(conn: RelayConnection, headers: HeaderList, message: BrokerMessage): void | Promise<void> {
    this.relayedOut++;
    this.published++;
    if (message.confirm === true) return conn.request('SEND', headers, message.body);
    conn.send('SEND', headers, message.body);
    // RabbitMQ reads slower under flow control: the publishing session waits, not our memory.
    if (conn.congested) return conn.drained();
  }

  // ---- connections -------------------------------------------------------------------------------

  private pick(key: string): RelayConnection {
    const conns = this.connections;
    const preferred = conns[hash(key) % conns.length];
    if (preferred.isUp) return preferred;
    return conns.find((c) => c.isUp) ?? preferred;
  }

  /** undefined when `conn` is up; a promise during the very first connect; else throws. */
  private whenAvailable(conn: RelayConnection): Promise<void> | undefined {
    if (conn.isUp) return undefined;
    if (this.closed) throw unavailable('the relay is closed');
    if (conn.state === 'connecting' && !conn.everFailed) {
      return new Promise<void>((resolve, reject) => {
        const up = (): void => {
          conn.off('down', down);
          resolve();
        };
        const down = (reason: string): void => {
          conn.off('up', up);
          reject(unavailable(reason));
        };
        conn.once('up', up);
        conn.once('down', down);
      });
    }
    throw unavailable(`RabbitMQ is not reachable (${conn.lastError ?? conn.state}); reconnecting`);
  }

  private connectionUp(conn: RelayConnection): void {
    const again = conn.reconnects > 0;
    if (again) this.logger.info({ connection: conn.name }, 'relay connection to RabbitMQ restored');
    for (const route of this.routes.values()) {
      if (route.conn !== conn || route.closing) continue;
      if (route.kind !== 'control' && route.locals.size === 0) continue;
      if (route.live !== undefined || route.subscribed) continue;
      route.live = this.subscribeRoute(route);
      route.live.catch((err: unknown) => {
        if (route.kind === 'control') {
          this.logger.error({ err, destination: route.rabbit }, 'subscribing to the relay registry failed');
          return;
        }
        for (const sub of [...route.locals]) {
          this.forget(sub);
          sub.consumer.close?.(`subscription to '${route.destination}' could not be restored on RabbitMQ: ${(err as Error).message}`);
        }
      });
    }
    if (conn === this.connections[0]) this.registry?.connected();
  }

  /**
   * RabbitMQ refused a frame without naming it (no receipt-id): a channel error such as NOT_FOUND
   * for '/amq/queue/<missing>' or PRECONDITION_FAILED, after which it closes the connection. Its
   * text names the queue or exchange; subscriptions to it end with an ERROR to their session, so
   * they are not subscribed again on reconnect (which would fail the same way, forever).
   */
  private refused(conn: RelayConnection, message: string, detail: string): void {
    const names = [...detail.matchAll(/\b(queue|exchange) '([^']*)'/g)].map((m) => [m[1], m[2]] as const);
    if (names.length === 0) return;
    for (const route of [...this.routes.values()]) {
      if (route.kind !== 'queue' || route.conn !== conn) continue;
      const named = names.some(([kind, name]) =>
        kind === 'queue'
          ? route.rabbit === `/amq/queue/${name}` || route.rabbit === `/queue/${name}`
          : route.rabbit === `/exchange/${name}` || route.rabbit.startsWith(`/exchange/${name}/`),
      );
      if (!named) continue;
      this.routes.delete(route.relayId);
      for (const sub of [...route.locals]) {
        this.forget(sub);
        sub.consumer.close?.(`RabbitMQ refused '${route.destination}': ${detail.trim() || message}`);
      }
    }
  }

  private connectionDown(conn: RelayConnection, reason: string): void {
    for (const route of [...this.routes.values()]) {
      if (route.conn !== conn) continue;
      route.live = undefined;
      route.subscribed = false;
      if (route.kind !== 'queue') continue;
      if (route.closing) {
        this.routes.delete(route.relayId);
        continue;
      }
      for (const sub of [...route.locals]) {
        if (sub.pending.size === 0) continue;
        const count = sub.pending.size;
        this.forget(sub);
        this.routes.delete(route.relayId);
        sub.consumer.close?.(
          `message broker connection lost (${reason}) with ${count} unacknowledged message${count === 1 ? '' : 's'} on '${route.destination}': RabbitMQ will redeliver ${count === 1 ? 'it' : 'them'}; reconnect`,
        );
      }
    }
  }
}

/** Builds a RelayBroker to pass as `createBroker({ broker })` (or use `createBroker({ relay })`). */
export function createRelayBroker(options: RelayBrokerOptions = {}): RelayBroker {
  return new RelayBroker(options);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function defaultIds(): () => string {
  let n = 0;
  const prefix = Math.random().toString(36).slice(2, 10) + '-';
  return () => prefix + (++n).toString(36);
}
