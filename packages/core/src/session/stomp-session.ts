/**
 * One connection's STOMP state machine.
 *
 * States: 'awaiting-connect' → 'connecting' (CONNECT received, authenticator running) →
 * 'connected' → 'closing' (ERROR or DISCONNECT sent, transport closing) → 'closed'.
 *
 * Invariants:
 * - Frames take effect strictly in the order they arrived. When handling a frame returns a promise
 *   (an async authenticator, interceptor or relay broker), the decoder is paused and resumed only
 *   once that promise settles; the synchronous path (in-memory broker) never allocates a promise.
 * - Every client frame carrying `receipt` is answered by a RECEIPT after it took effect
 *   (a SUBSCRIBE's receipt means the subscription is live). CONNECT is answered by CONNECTED.
 * - Any protocol violation becomes exactly one ERROR frame (with `message`, and `receipt-id` when
 *   the offending frame asked for a receipt), after which the connection is closed and nothing
 *   else is read or handled (STOMP 1.2 §ERROR: "the server MUST then close the connection").
 * - The one exception is a StompError marked non-fatal (`fatal: false`: a handler error, an
 *   interceptor's `reject(…, { close: false })`): it refuses only that frame, with an ERROR-shaped
 *   MESSAGE on the session's error destination ('/user/queue/errors') and no RECEIPT; a refused
 *   SUBSCRIBE registers nothing; the session stays open and reads on.
 * - The host learns about the end of the session exactly once, after broker state was released.
 * - Outbound frames written within one tick are corked and leave in one socket write; the
 *   uncork is a microtask, so coalescing never adds a timer delay (session/outbox.ts, which also
 *   applies the slow-consumer policy and marks the session congested for the broker).
 * - Per-session limits (subscriptions, transactions, frames per transaction, frames per second)
 *   are checked before the frame takes effect; exceeding one is an ERROR naming the limit.
 */
import type { Decoder, DecoderHandlers } from '../codec/decoder';
import { encodeFrame, encodeMessage, HEARTBEAT } from '../codec/encoder';
import { CLIENT_COMMANDS, isClientCommand, type ClientCommand } from '../codec/commands';
import { header, ownString, type Frame, type HeaderList, EMPTY_BODY, SERVER_OWNED_HEADERS } from '../codec/frame';
import { SUPPORTED_VERSIONS, type StompVersion } from '../codec/versions';
import { ACK_MODES, type AckMode, type BrokerMessage, type Delivery } from '../broker/types';
import { compileSelector } from '../broker/selector';
import type { InboundChannel, SessionContext } from '../channel/inbound-channel';
import { StompError, isStompError } from '../errors';
import type { Principal, ResolvedOptions } from '../options';
import { CloseCode, type Connection, type ConnectionEndpoint } from './connection';
import { negotiateHeartbeat, negotiateVersion, parseHeartbeat, sessionOffer } from './negotiate';
import { asTextMessage, isBinaryMessage } from './binary';
import { Outbox, type OutboxLimits } from './outbox';
import { SubscriptionTable } from './subscription-table';
import type { DecoderPool } from './decoder-pool';
import type { HeartbeatClock } from './heartbeat-clock';
import type { Metrics } from '../metrics/metrics';

export type SessionState = 'awaiting-connect' | 'connecting' | 'connected' | 'closing' | 'closed';

export type CloseReason =
  | { kind: 'client-disconnect' }
  | { kind: 'protocol-error'; error: StompError }
  | { kind: 'heartbeat-timeout' }
  | { kind: 'slow-consumer'; error: StompError }
  | { kind: 'connect-timeout' }
  | { kind: 'server-close'; message: string }
  | { kind: 'transport-closed'; code?: number };

/** What a session needs from the server that owns it. */
export interface SessionHost {
  readonly options: ResolvedOptions;
  readonly channel: InboundChannel;
  /** Decoders lent to sessions for a read (an idle session holds none). */
  readonly decoders: DecoderPool;
  /** One interval per heart-beat period for all sessions (onSendTick / onReceiveTick). */
  readonly heartbeats: { readonly send: HeartbeatClock<StompSession>; readonly receive: HeartbeatClock<StompSession> };
  /** The outbound limits every session applies (one object for all of them). */
  readonly outboxLimits: OutboxLimits;
  nextMessageId(): string;
  sessionConnected(session: StompSession): void;
  sessionClosed(session: StompSession, reason: CloseReason): void;
  /** The session's transport closed (before its broker state is released and sessionClosed). */
  connectionClosed?(session: StompSession): void;
  /** A slow consumer lost frames or was closed (metrics, events). */
  slowConsumer?(session: StompSession, info: SlowConsumerInfo): void;
  /** Counters the session updates (messages in/out, errors); absent = not counted. */
  readonly metrics?: Metrics;
}

export type SlowConsumerInfo =
  | { action: 'dropped'; frames: number; bytes: number }
  | { action: 'closed'; limit: 'maxOutboundBytes' | 'sendTimeLimit' };

export interface SessionInit {
  id: string;
  /** Principal established at the handshake (framework auth), if any. */
  user?: Principal;
  attributes?: Map<string, unknown>;
  /** The WebSocket sub-protocol agreed at the handshake, if any. */
  subprotocol?: string;
  /** The handshake's Origin header (browsers send it), for the inspector and logs. */
  origin?: string;
}

export interface SessionSubscription {
  readonly id: string;
  readonly destination: string;
  readonly ack: AckMode;
}


const SUPPORTED_VERSION_LIST = SUPPORTED_VERSIONS.slice().reverse().join(',');

export class StompSession implements SessionContext, ConnectionEndpoint, DecoderHandlers {
  readonly sessionId: string;
  readonly subprotocol: string | undefined;
  /** The Origin header of the WebSocket handshake, when the client sent one (browsers do). */
  readonly origin: string | undefined;
  readonly connectedAt = Date.now();
  state: SessionState = 'awaiting-connect';
  /** Negotiated version; until CONNECT, errors are written as 1.2. */
  version: StompVersion = '1.2';
  user: Principal | undefined;
  /** This session's subscriptions by id (a Map-like table that needs no Map for one). */
  readonly subscriptions = new SubscriptionTable<SessionSubscription>();

  /** Open transactions, created on the first BEGIN (most sessions never use one). */
  private transactions: Map<string, Frame[]> | undefined;
  /** STOMP 1.0/1.1 clients ACK by message-id: subscription id → (message-id → ack id), in delivery order. */
  private legacyAcks: Map<string, Map<string, string>> | undefined;
  /**
   * Lent by the host's DecoderPool for a read and given back once idle: held only while a frame is
   * incomplete, held back by pause, or failed.
   */
  private decoder: Decoder | undefined;
  private readonly outbox: Outbox;
  /** Created on first use: most sessions never store an attribute. */
  private attributeMap: Map<string, unknown> | undefined;
  /** Frames received in the current one-second window (maxFramesPerSecond). */
  private frameCount = 0;
  private frameWindowStart = 0;
  private closeReason: CloseReason | undefined;
  /**
   * When the peer was last read, kept only while something uses it (receive heart-beats,
   * maxFramesPerSecond; 0 otherwise): no clock read per message, and no boxed number per session.
   */
  private lastReadAt = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Negotiated heart-beat checks on the host's clocks: the send tick and the silence limit, ms (0 = none). */
  private sendTick = 0;
  private silenceLimit = 0;
  private readonly metrics: Metrics | undefined;
  /** The settling of the frame being handled asynchronously, if any (graceful shutdown waits for it). */
  private inFlight: Promise<void> | undefined;
  /** Set by quiesce(): no further frame is read; the session waits for close(). */
  private quiescing = false;

  constructor(
    private readonly host: SessionHost,
    private readonly connection: Connection,
    init: SessionInit,
  ) {
    this.sessionId = init.id;
    this.user = init.user;
    this.attributeMap = init.attributes;
    this.subprotocol = init.subprotocol;
    this.origin = init.origin;
    this.metrics = host.metrics;
    this.outbox = new Outbox(connection, host.outboxLimits, this);
    const connectTimeout = host.options.limits.connectTimeout;
    if (connectTimeout > 0) {
      this.connectTimer = setTimeout(onConnectTimeout, connectTimeout, this);
      this.connectTimer.unref();
    }
  }

  /**
   * The peer's IP address, read from the socket when first asked (not kept per session: the
   * socket caches it once read); undefined when first asked after the socket closed.
   */
  get remoteAddress(): string | undefined {
    return this.connection.remoteAddress;
  }

  /** The transport the client connected over ('websocket', 'tcp', 'tls', ...). */
  get transport(): string {
    return this.connection.transport;
  }

  /** Session attributes: set at the handshake or by handlers and interceptors, kept for the session's life. */
  get attributes(): Map<string, unknown> {
    return (this.attributeMap ??= new Map());
  }


  get isOpen(): boolean {
    return this.state !== 'closing' && this.state !== 'closed';
  }

  /** Bytes from the transport (one WebSocket message, or a TCP chunk). */
  receive(chunk: Buffer): void {
    if (!this.isOpen) return;
    this.touchRead();
    const decoder = this.heldDecoder();
    try {
      decoder.push(chunk);
    } catch (err) {
      this.fail(err, undefined);
    }
    this.releaseDecoder();
  }

  /** The decoder this session holds, borrowed from the pool if it holds none. */
  private heldDecoder(): Decoder {
    return (this.decoder ??= this.host.decoders.take(this, this.version));
  }

  /** Gives the decoder back to the pool when it holds nothing of this stream. */
  private releaseDecoder(): void {
    const decoder = this.decoder;
    if (decoder === undefined || !decoder.idle) return;
    this.decoder = undefined;
    this.host.decoders.give(decoder);
  }


  /**
   * The transport reported an error; it closes the connection itself, with `closeCode` when the
   * error was the peer's (1009: a message over maxPayload). Logged at debug level.
   */
  transportError(err: Error, closeCode: number | undefined): void {
    if (closeCode === 1009) this.metrics?.limitExceeded('maxPayload');
    this.host.options.logger.debug({ err, sessionId: this.sessionId, transport: this.connection.transport }, 'transport error');
  }

  /** Destroys the transport now, without a close handshake (a shutdown whose timeout passed). */
  terminate(): void {
    this.connection.terminate();
  }

  /** The transport closed (peer went away, or our own close completed). */
  transportClosed(code?: number): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.host.connectionClosed?.(this);
    this.decoder = undefined;
    this.clearTimers();
    this.transactions = undefined;
    this.legacyAcks = undefined;
    const reason = this.closeReason ?? { kind: 'transport-closed', code };
    const release = (): void => this.host.sessionClosed(this, reason);
    try {
      const result = this.host.channel.disconnect(this);
      if (isPromise(result)) {
        result.then(release, (err) => {
          this.host.options.logger.error({ err, sessionId: this.sessionId }, 'broker disconnect failed');
          release();
        });
        return;
      }
    } catch (err) {
      this.host.options.logger.error({ err, sessionId: this.sessionId }, 'broker disconnect failed');
    }
    release();
  }

  /** Server-initiated close with an ERROR frame (shutdown, force-disconnect). */
  close(message: string, reason: CloseReason = { kind: 'server-close', message }): void {
    if (!this.isOpen) return;
    this.closeReason = reason;
    this.writeFrame('ERROR', [['message', message], ['content-type', 'text/plain']], Buffer.from(message));
    this.shutdown(CloseCode.GOING_AWAY, message);
  }

  /**
   * First step of a graceful shutdown: read no further frames (what the client sends meanwhile
   * waits unread in the socket), but let the frame being handled asynchronously, if any, take
   * effect and get its RECEIPT. Returns a promise when such a frame exists, settled once it did.
   * The session stays open and keeps receiving deliveries until close().
   */
  quiesce(): Promise<void> | undefined {
    if (!this.isOpen) return undefined;
    this.quiescing = true;
    this.heldDecoder().pause();
    this.connection.pause();
    return this.inFlight?.then(noop, noop);
  }

  /** Bytes written to the socket and not yet flushed, plus the backlog waiting for it. */
  get outboundBytes(): number {
    return this.connection.bufferedBytes + this.outbox.waitingBytes;
  }

  // ---- delivery (called by the broker) -------------------------------------------------------

  deliver(delivery: Delivery): void {
    if (this.state !== 'connected') return;
    let message = delivery.message;
    let binary = isBinaryMessage(message);
    if (binary && this.connection.textOnly === true) {
      message = asTextMessage(message);
      binary = false;
    }
    const parts = encodeMessage(message, this.version, delivery.subscriptionId, delivery.ackId, delivery.redelivered);
    this.metrics?.sent(message, parts);
    this.write(parts, binary, delivery);
    if (delivery.ackId !== undefined && this.version !== '1.2') {
      this.rememberLegacyAck(delivery.subscriptionId, message.id, delivery.ackId);
    }
  }

  // ---- inbound ---------------------------------------------------------------------------------

  /** @internal DecoderHandlers: one complete frame from the client. */
  frame(frame: Frame): void {
    const maxRate = this.host.options.limits.maxFramesPerSecond;
    if (maxRate > 0 && this.overRate(maxRate)) {
      this.fail(limitError('maxFramesPerSecond', maxRate, 'frames per second from one session'), header(frame, 'receipt'));
      return;
    }
    let result: void | Promise<void>;
    try {
      result = this.handleFrame(frame);
    } catch (err) {
      this.refuse(err, frame);
      return;
    }
    if (result !== undefined) {
      // Keep frame order: nothing else is parsed until this frame took effect.
      this.heldDecoder().pause();
      this.connection.pause();
      this.inFlight = result.then(
        () => {
          this.inFlight = undefined;
          this.resumeReading();
        },
        (err) => {
          this.inFlight = undefined;
          if (this.refuse(err, frame)) this.resumeReading();
        },
      );
    }
  }

  /**
   * A frame failed. A non-fatal StompError (handler error, interceptor `reject(…, { close: false })`)
   * refuses only that frame: the channel reports it on the session's error destination, no RECEIPT
   * is sent, and the session reads on (returns true). Anything else is fatal: ERROR and close.
   */
  private refuse(err: unknown, frame: Frame): boolean {
    if (isStompError(err) && !err.fatal && this.state === 'connected') {
      this.metrics?.error(err);
      this.host.channel.reportError(this, err, frame);
      return true;
    }
    this.fail(err, header(frame, 'receipt'), undefined, frame);
    return false;
  }

  /** Records the time of a read when receive heart-beats or maxFramesPerSecond need it. */
  private touchRead(): void {
    if (this.silenceLimit > 0 || this.host.options.limits.maxFramesPerSecond > 0) this.lastReadAt = Date.now();
  }

  /** Fixed one-second windows, timed by the arrival of the data (no timer, no extra clock read). */
  private overRate(maxRate: number): boolean {
    if (this.lastReadAt - this.frameWindowStart >= 1000) {
      this.frameWindowStart = this.lastReadAt;
      this.frameCount = 0;
    }
    return ++this.frameCount > maxRate;
  }

  private resumeReading(): void {
    if (!this.isOpen || this.quiescing) return;
    // Silence is only counted while we listen: what the peer sent meanwhile waits in the socket.
    this.touchRead();
    this.connection.resume();
    try {
      this.decoder?.resume();
    } catch (err) {
      this.fail(err, undefined);
    }
    this.releaseDecoder();
  }

  /** Returns a promise only when the frame's effect is asynchronous. */
  private handleFrame(frame: Frame): void | Promise<void> {
    if (!this.isOpen) return;
    const command = frame.command;
    if (!isClientCommand(command)) {
      throw new StompError('STOMP_ERR_UNKNOWN_COMMAND', `unknown command '${truncate(command)}'`);
    }
    if (command === 'CONNECT' || command === 'STOMP') {
      if (this.state !== 'awaiting-connect') {
        throw new StompError('STOMP_ERR_ALREADY_CONNECTED', `${command} received on a session that is already connected`);
      }
      return this.handleConnect(frame);
    }
    if (this.state !== 'connected') {
      throw new StompError('STOMP_ERR_NOT_CONNECTED', `${command} received before CONNECT: the first frame must be CONNECT or STOMP`);
    }
    this.validate(command, frame);
    switch (command) {
      case 'SEND':
        return this.handleSend(frame);
      case 'SUBSCRIBE':
        return this.handleSubscribe(frame);
      case 'UNSUBSCRIBE':
        return this.handleUnsubscribe(frame);
      case 'ACK':
      case 'NACK':
        return this.handleAck(command, frame);
      case 'BEGIN':
        return this.handleBegin(frame);
      case 'COMMIT':
        return this.handleCommit(frame);
      case 'ABORT':
        return this.handleAbort(frame);
      case 'DISCONNECT':
        return this.handleDisconnect(frame);
    }
  }

  private validate(command: ClientCommand, frame: Frame): void {
    const rule = CLIENT_COMMANDS[command];
    if (rule.since === '1.1' && this.version === '1.0') {
      throw new StompError('STOMP_ERR_UNKNOWN_COMMAND', `${command} is not part of STOMP 1.0`);
    }
    if (!rule.body && frame.body.length > 0) {
      throw new StompError('STOMP_ERR_BODY_NOT_ALLOWED', `${command} frames must not have a body`);
    }
    const required = rule.required[this.version];
    for (let i = 0; i < required.length; i++) {
      if (header(frame, required[i]) === undefined) {
        throw new StompError('STOMP_ERR_MISSING_HEADER', `${command} frame is missing the required '${required[i]}' header`);
      }
    }
  }

  // ---- CONNECT -----------------------------------------------------------------------------------

  private handleConnect(frame: Frame): void | Promise<void> {
    const version = negotiateVersion(header(frame, 'accept-version'));
    if (version === undefined) {
      throw new StompError(
        'STOMP_ERR_VERSION',
        `Supported protocol versions are ${SUPPORTED_VERSION_LIST}`,
        { headers: [['version', SUPPORTED_VERSION_LIST]] },
      );
    }
    if (frame.body.length > 0) {
      throw new StompError('STOMP_ERR_BODY_NOT_ALLOWED', `${frame.command} frames must not have a body`);
    }
    const clientHeartbeat = parseHeartbeat(header(frame, 'heart-beat'));
    this.version = version;
    if (this.decoder !== undefined) this.decoder.version = version;
    const authenticate = this.host.options.authenticate;
    if (authenticate === undefined) return this.admit(frame, clientHeartbeat);
    this.state = 'connecting';
    return Promise.resolve(
      authenticate({
        login: header(frame, 'login'),
        passcode: header(frame, 'passcode'),
        host: header(frame, 'host'),
        version,
        headers: frame.headers,
        user: this.user,
        sessionId: this.sessionId,
        attributes: this.attributes,
      }),
    ).then(
      (result) => {
        if (!this.isOpen) return;
        if (result === false) throw new StompError('STOMP_ERR_AUTH', 'authentication failed');
        if (result !== undefined) this.user = result;
        return this.admit(frame, clientHeartbeat);
      },
      (err: unknown) => {
        if (isStompError(err)) throw err;
        const message = err instanceof Error && err.message ? err.message : 'authentication failed';
        throw new StompError('STOMP_ERR_AUTH', message, { cause: err });
      },
    );
  }

  /** The channel (inbound interceptors, the 'connect' event) has the last word before CONNECTED. */
  private admit(frame: Frame, clientHeartbeat: [number, number]): void | Promise<void> {
    this.state = 'connecting';
    const admitted = this.host.channel.connect(this, frame.headers);
    if (admitted === undefined) {
      this.completeConnect(clientHeartbeat);
      return;
    }
    return admitted.then(() => {
      if (this.isOpen) this.completeConnect(clientHeartbeat);
    });
  }

  private completeConnect(clientHeartbeat: [number, number]): void {
    const serverHeartbeat = sessionOffer(clientHeartbeat, this.host.options.heartbeat, this.host.options.heartbeatFloor);
    const beats = negotiateHeartbeat(clientHeartbeat, serverHeartbeat);
    this.state = 'connected';
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const headers: HeaderList = [
      ['version', this.version],
      ['heart-beat', `${serverHeartbeat[0]},${serverHeartbeat[1]}`],
      ['server', this.host.options.serverName],
      ['session', this.sessionId],
    ];
    if (this.user !== undefined) headers.push(['user-name', this.user.name]);
    this.writeFrame('CONNECTED', headers);
    this.startHeartbeats(beats.send, beats.receive);
    this.host.sessionConnected(this);
  }

  // ---- SEND, SUBSCRIBE, UNSUBSCRIBE ------------------------------------------------------------

  private handleSend(frame: Frame): void | Promise<void> {
    const tx = header(frame, 'transaction');
    if (tx !== undefined) return this.enlist(tx, frame);
    return this.afterEffect(this.host.channel.send(this, this.toMessage(frame, header(frame, 'receipt') !== undefined)), frame);
  }

  /**
   * A SEND frame as a neutral message: server-owned headers stripped, first of repeats kept.
   * `confirm` when a RECEIPT will depend on it (the broker then confirms before resolving).
   */
  private toMessage(frame: Frame, confirm: boolean): BrokerMessage {
    const headers: HeaderList = [];
    const source = frame.headers;
    for (let i = 0; i < source.length; i++) {
      if (!SERVER_OWNED_HEADERS.has(source[i][0])) headers.push(source[i]);
    }
    const contentType = header(frame, 'content-type');
    const destination = header(frame, 'destination')!;
    this.metrics?.received(destination, frame.body.length);
    const message: { -readonly [K in keyof BrokerMessage]: BrokerMessage[K] } = {
      id: this.host.nextMessageId(),
      destination,
      headers,
      body: frame.body,
      senderSessionId: this.sessionId,
    };
    if (contentType !== undefined) message.contentType = contentType;
    if (confirm) message.confirm = true;
    return message;
  }

  private handleSubscribe(frame: Frame): void | Promise<void> {
    // Kept for the subscription's life: copied out of the frame's header block (ownString).
    const destination = ownString(header(frame, 'destination')!);
    // STOMP 1.0 made `id` optional; the destination then names the subscription.
    const idHeader = header(frame, 'id');
    const id = idHeader === undefined ? destination : ownString(idHeader);
    if (this.subscriptions.has(id)) {
      throw new StompError('STOMP_ERR_DUPLICATE_SUBSCRIPTION', `subscription id '${truncate(id)}' is already in use on this session`);
    }
    const maxSubscriptions = this.host.options.limits.maxSubscriptionsPerSession;
    if (maxSubscriptions > 0 && this.subscriptions.size >= maxSubscriptions) {
      throw limitError('maxSubscriptionsPerSession', maxSubscriptions, 'subscriptions on one session');
    }
    const ackHeader = header(frame, 'ack') ?? 'auto';
    // The mode as our own constant, not the frame's copy of it.
    const ack = ACK_MODES[ACK_MODES.indexOf(ackHeader as AckMode)];
    if (ack === undefined || (ack === 'client-individual' && this.version === '1.0')) {
      throw new StompError(
        'STOMP_ERR_BAD_HEADER',
        `invalid ack mode '${truncate(ackHeader)}': expected ${this.version === '1.0' ? 'auto or client' : 'auto, client or client-individual'}`,
      );
    }
    const prefetchHeader = header(frame, 'prefetch-count');
    let prefetch: number | undefined;
    if (prefetchHeader !== undefined) {
      if (!/^\d{1,9}$/.test(prefetchHeader)) {
        throw new StompError('STOMP_ERR_BAD_HEADER', `invalid prefetch-count '${truncate(prefetchHeader)}': expected a non-negative integer`);
      }
      prefetch = Number(prefetchHeader);
    }
    // `selector`: compiled to a filter (broker/selector.ts); a bad one is a fatal STOMP_ERR_BAD_SELECTOR.
    const selector = header(frame, 'selector');
    if (selector !== undefined && this.host.options.selectors === false) {
      throw new StompError('STOMP_ERR_BAD_SELECTOR', 'the selector header is not supported: selectors are disabled on this server');
    }
    const filter = selector === undefined ? undefined : compileSelector(selector);
    const subscription: SessionSubscription = { id, destination, ack };
    this.subscriptions.set(id, subscription);
    let result: void | false | Promise<void | false>;
    try {
      result = this.host.channel.subscribe(this, { id, destination, ack, prefetch, filter }, frame.headers);
    } catch (err) {
      this.subscriptions.delete(id);
      throw err;
    }
    if (isPromise(result)) {
      result = result.then(
        (outcome) => {
          // The client left while the subscription was being set up (an async broker; an async
          // interceptor registers nothing then, `false`): transportClosed released what the session
          // held before this one existed.
          if (this.state === 'closed' && outcome !== false) this.releaseLate(subscription);
        },
        (err: unknown) => {
          this.subscriptions.delete(id);
          throw err;
        },
      );
    }
    return this.afterEffect(result, frame);
  }

  /**
   * Undoes a subscription that took effect after the session was released: left in the broker, it
   * would be a consumer that drops every message it is given (queue messages included) forever.
   */
  private releaseLate(subscription: SessionSubscription): void {
    this.subscriptions.delete(subscription.id);
    const failed = (err: unknown): void => {
      this.host.options.logger.error({ err, sessionId: this.sessionId }, 'releasing a subscription made after the session ended failed');
    };
    try {
      const removed = this.host.channel.unsubscribe(this, subscription);
      if (removed instanceof Promise) removed.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  private handleUnsubscribe(frame: Frame): void | Promise<void> {
    let id = header(frame, 'id');
    if (id === undefined) {
      // STOMP 1.0: UNSUBSCRIBE by destination.
      const destination = header(frame, 'destination');
      if (destination === undefined) {
        throw new StompError('STOMP_ERR_MISSING_HEADER', `UNSUBSCRIBE frame is missing the required 'id' header`);
      }
      for (const sub of this.subscriptions.values()) {
        if (sub.destination === destination) {
          id = sub.id;
          break;
        }
      }
      if (id === undefined) {
        throw new StompError('STOMP_ERR_UNKNOWN_SUBSCRIPTION', `no subscription to '${truncate(destination)}' on this session`);
      }
    }
    const subscription = this.subscriptions.get(id);
    if (subscription === undefined) {
      throw new StompError('STOMP_ERR_UNKNOWN_SUBSCRIPTION', `no subscription with id '${truncate(id)}' on this session`);
    }
    this.subscriptions.delete(id);
    this.legacyAcks?.delete(id);
    return this.afterEffect(this.host.channel.unsubscribe(this, subscription, frame.headers), frame);
  }

  // ---- ACK / NACK ------------------------------------------------------------------------------

  private handleAck(command: 'ACK' | 'NACK', frame: Frame): void | Promise<void> {
    const tx = header(frame, 'transaction');
    if (tx !== undefined) return this.enlist(tx, frame);
    return this.afterEffect(this.applyAck(command, frame), frame);
  }

  private applyAck(command: 'ACK' | 'NACK', frame: Frame): void | Promise<void> {
    const ackId = this.resolveAckId(frame);
    const channel = this.host.channel;
    const outcome =
      ackId === undefined ? false : command === 'ACK' ? channel.ack(this, ackId, frame.headers) : channel.nack(this, ackId, frame.headers);
    if (typeof outcome === 'boolean') {
      this.checkAck(command, frame, outcome);
      return;
    }
    return outcome.then((known) => this.checkAck(command, frame, known));
  }

  private checkAck(command: 'ACK' | 'NACK', frame: Frame, known: boolean): void {
    if (known) return;
    const id = header(frame, 'id') ?? header(frame, 'message-id') ?? '';
    throw new StompError('STOMP_ERR_UNKNOWN_ACK', `${command} for '${truncate(id)}': no message awaiting acknowledgement has that id`);
  }

  private resolveAckId(frame: Frame): string | undefined {
    if (this.version === '1.2') return header(frame, 'id');
    const messageId = header(frame, 'message-id')!;
    const acks = this.legacyAcks;
    if (acks === undefined) return undefined;
    const subscriptionId = header(frame, 'subscription');
    if (subscriptionId !== undefined) return this.takeLegacyAck(subscriptionId, messageId);
    for (const id of acks.keys()) {
      const ackId = this.takeLegacyAck(id, messageId);
      if (ackId !== undefined) return ackId;
    }
    return undefined;
  }

  private rememberLegacyAck(subscriptionId: string, messageId: string, ackId: string): void {
    this.legacyAcks ??= new Map();
    let bySub = this.legacyAcks.get(subscriptionId);
    if (bySub === undefined) this.legacyAcks.set(subscriptionId, (bySub = new Map()));
    bySub.set(messageId, ackId);
  }

  /** Looks up (and forgets) a 1.0/1.1 ack; in `client` mode also forgets the earlier ones it covers. */
  private takeLegacyAck(subscriptionId: string, messageId: string): string | undefined {
    const bySub = this.legacyAcks?.get(subscriptionId);
    const ackId = bySub?.get(messageId);
    if (bySub === undefined || ackId === undefined) return undefined;
    if (this.subscriptions.get(subscriptionId)?.ack === 'client') {
      for (const key of bySub.keys()) {
        bySub.delete(key);
        if (key === messageId) break;
      }
    } else {
      bySub.delete(messageId);
    }
    return ackId;
  }

  // ---- transactions ------------------------------------------------------------------------------

  private handleBegin(frame: Frame): void {
    const tx = header(frame, 'transaction')!;
    const transactions = (this.transactions ??= new Map());
    if (transactions.has(tx)) {
      throw new StompError('STOMP_ERR_DUPLICATE_TRANSACTION', `transaction '${truncate(tx)}' has already begun`);
    }
    const maxTransactions = this.host.options.limits.maxTransactionsPerSession;
    if (maxTransactions > 0 && transactions.size >= maxTransactions) {
      throw limitError('maxTransactionsPerSession', maxTransactions, 'open transactions on one session');
    }
    transactions.set(tx, []);
    this.receipt(frame);
  }

  private handleCommit(frame: Frame): void | Promise<void> {
    const frames = this.takeTransaction(frame);
    return this.afterEffect(this.applyInOrder(frames, 0, header(frame, 'receipt') !== undefined), frame);
  }

  private handleAbort(frame: Frame): void {
    this.takeTransaction(frame);
    this.receipt(frame);
  }

  private takeTransaction(frame: Frame): Frame[] {
    const tx = header(frame, 'transaction')!;
    const frames = this.transactions?.get(tx);
    if (frames === undefined) {
      throw new StompError('STOMP_ERR_UNKNOWN_TRANSACTION', `no transaction '${truncate(tx)}' is open on this session`);
    }
    this.transactions!.delete(tx);
    return frames;
  }

  private enlist(tx: string, frame: Frame): void {
    const frames = this.transactions?.get(tx);
    if (frames === undefined) {
      throw new StompError('STOMP_ERR_UNKNOWN_TRANSACTION', `${frame.command} names transaction '${truncate(tx)}', which is not open on this session`);
    }
    const maxFrames = this.host.options.limits.maxFramesPerTransaction;
    if (maxFrames > 0 && frames.length >= maxFrames) {
      throw limitError('maxFramesPerTransaction', maxFrames, 'frames in one transaction');
    }
    frames.push(frame);
    this.receipt(frame);
  }

  /** Applies committed frames one after another, staying synchronous while every step is. */
  private applyInOrder(frames: Frame[], from: number, confirm: boolean): void | Promise<void> {
    for (let i = from; i < frames.length; i++) {
      const frame = frames[i];
      const result =
        frame.command === 'SEND'
          ? this.host.channel.send(this, this.toMessage(frame, confirm || header(frame, 'receipt') !== undefined))
          : this.applyAck(frame.command as 'ACK' | 'NACK', frame);
      if (result !== undefined) return result.then(() => this.applyInOrder(frames, i + 1, confirm));
    }
  }

  // ---- DISCONNECT --------------------------------------------------------------------------------

  private handleDisconnect(frame: Frame): void {
    this.closeReason = { kind: 'client-disconnect' };
    this.receipt(frame);
    this.shutdown(CloseCode.NORMAL, 'DISCONNECT');
  }

  // ---- outbound ----------------------------------------------------------------------------------

  /** Sends the RECEIPT once `effect` has taken place; errors propagate to the frame's ERROR. */
  private afterEffect(effect: void | boolean | Promise<unknown>, frame: Frame): void | Promise<void> {
    if (effect instanceof Promise) return effect.then(() => this.receipt(frame));
    this.receipt(frame);
  }

  private receipt(frame: Frame): void {
    const receipt = header(frame, 'receipt');
    if (receipt !== undefined && this.isOpen) this.writeFrame('RECEIPT', [['receipt-id', receipt]]);
  }

  private writeFrame(command: string, headers: HeaderList, body: Buffer = EMPTY_BODY): void {
    this.write([encodeFrame({ command, headers, body }, this.version)], false);
  }

  private write(parts: readonly Buffer[], binary: boolean, delivery?: Delivery): void {
    this.outbox.write(parts, binary, delivery);
  }

  private flush(): void {
    this.outbox.flush();
  }

  // ---- slow consumers (OutboxOwner) ----------------------------------------------------------

  /** Read by the broker: while true, queue messages wait in the broker instead of piling up here. */
  get congested(): boolean {
    return this.outbox.congested;
  }

  /** The socket flushed its buffer (called by the transport). */
  drained(): void {
    this.outbox.drained();
  }

  /** @internal OutboxOwner */
  droppable(delivery: Delivery): boolean {
    if (delivery.ackId !== undefined) return false;
    return !this.host.channel.isQueue(delivery.message.destination);
  }

  /** @internal OutboxOwner */
  congestionChanged(congested: boolean): void {
    if (!congested && this.state === 'connected') {
      const resumed = this.host.channel.resume(this);
      if (resumed instanceof Promise) resumed.catch((err) => this.host.options.logger.error({ err, sessionId: this.sessionId }, 'broker resume failed'));
    }
  }

  /** @internal OutboxOwner */
  dropped(frames: number, bytes: number): void {
    this.host.slowConsumer?.(this, { action: 'dropped', frames, bytes });
  }

  /** @internal OutboxOwner */
  overflow(limit: 'maxOutboundBytes' | 'sendTimeLimit', detail: string): void {
    if (!this.isOpen) return;
    this.host.slowConsumer?.(this, { action: 'closed', limit });
    const error = new StompError('STOMP_ERR_SLOW_CONSUMER', `slow consumer: limit ${limit} exceeded (${detail})`);
    this.metrics?.error(error, limit);
    this.host.options.logger.warn({ sessionId: this.sessionId, user: this.user?.name, limit }, `closing a slow consumer: ${error.message}`);
    // The client is not reading, so a close handshake would never finish: end the socket now.
    this.closeReason = { kind: 'slow-consumer', error };
    this.shutdown(CloseCode.POLICY_VIOLATION, error.code, true);
  }

  /** Turns any failure into one ERROR frame and a close. */
  fail(err: unknown, receiptId: string | undefined, reason?: CloseReason, frame?: Frame): void {
    if (!this.isOpen) return;
    this.decoder?.pause();
    let error: StompError;
    if (isStompError(err)) {
      error = err;
    } else {
      this.host.options.logger.error({ err, sessionId: this.sessionId }, 'unexpected error while handling a frame');
      error = new StompError('STOMP_ERR_INTERNAL', 'internal server error', { cause: err });
    }
    this.metrics?.error(error);
    this.closeReason = reason ?? { kind: 'protocol-error', error };
    this.host.options.logger.warn(
      {
        sessionId: this.sessionId,
        user: this.user?.name,
        command: frame?.command,
        destination: frame === undefined ? undefined : header(frame, 'destination'),
        code: error.code,
        reason: error.message,
      },
      'ERROR sent; closing the session',
    );
    const headers: HeaderList = [['message', error.message]];
    if (receiptId !== undefined) headers.push(['receipt-id', receiptId]);
    if (error.headers !== undefined) for (const h of error.headers) headers.push([h[0], h[1]]);
    headers.push(['content-type', 'text/plain']);
    this.writeFrame('ERROR', headers, Buffer.from(error.details ?? error.message));
    this.shutdown(CloseCode.PROTOCOL_ERROR, error.code);
  }

  /**
   * Stops reading and timers and closes the transport: normally after flushing what was written,
   * or at once (`terminate`) for a client that does not read, whose close handshake would never end.
   */
  private shutdown(code: number, reason: string, terminate = false): void {
    if (!this.isOpen) return;
    this.state = 'closing';
    this.decoder?.pause();
    this.clearTimers();
    if (terminate) {
      this.outbox.discard();
      this.connection.terminate();
      return;
    }
    this.flush();
    this.connection.close(code, reason);
  }

  // ---- heart-beats -------------------------------------------------------------------------------

  private startHeartbeats(send: number, receive: number): void {
    if (send > 0) {
      // Checking at half the interval keeps every gap below `send` ms without sending more than needed.
      const tick = Math.max(1, Math.floor(send / 2));
      this.outbox.lastWriteAt = Date.now();
      this.sendTick = tick;
      this.host.heartbeats.send.add(this, tick, tick);
    }
    if (receive > 0) {
      const limit = receive * this.host.options.heartbeatGrace;
      this.lastReadAt = Date.now();
      this.silenceLimit = limit;
      this.host.heartbeats.receive.add(this, Math.max(1, Math.floor(receive / 2)), limit);
    }
  }

  /** @internal timer callback */
  sendHeartbeatIfIdle(tick: number): void {
    if (this.state !== 'connected' || this.outbox.isCorked) return;
    if (Date.now() - this.outbox.lastWriteAt >= tick) this.write([HEARTBEAT], false);
  }

  /** @internal timer callback */
  checkPeerAlive(limit: number): void {
    // While an asynchronous frame holds reading paused, the peer's heart-beats wait unread.
    if (this.state !== 'connected' || this.decoder?.paused === true) return;
    const silent = Date.now() - this.lastReadAt;
    if (silent > limit) {
      const error = new StompError('STOMP_ERR_HEARTBEAT_TIMEOUT', `heart-beat timeout: nothing received for ${silent} ms (limit ${limit} ms)`);
      this.fail(error, undefined, { kind: 'heartbeat-timeout' });
    }
  }

  /** @internal timer callback */
  connectTimedOut(): void {
    if (this.state !== 'awaiting-connect') return;
    const limit = this.host.options.limits.connectTimeout;
    const error = new StompError('STOMP_ERR_LIMIT', `no CONNECT frame received within connectTimeout (${limit} ms)`, { headers: [['limit', 'connectTimeout']] });
    this.fail(error, undefined, { kind: 'connect-timeout' });
  }

  private clearTimers(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    if (this.sendTick > 0) this.host.heartbeats.send.remove(this, this.sendTick);
    if (this.silenceLimit > 0) this.host.heartbeats.receive.remove(this, this.silenceLimit);
    this.sendTick = this.silenceLimit = 0;
  }
}

// Module-level timer callbacks: no closure per session (ws does the same for its listeners).
/** The host's heart-beat clocks (session/heartbeat-clock.ts) call these. */
export function onSendTick(session: StompSession, tick: number): void {
  session.sendHeartbeatIfIdle(tick);
}
export function onReceiveTick(session: StompSession, limit: number): void {
  session.checkPeerAlive(limit);
}
function onConnectTimeout(session: StompSession): void {
  session.connectTimedOut();
}

function noop(): void {}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** The ERROR for an exceeded limit names the limit and its value. */
function limitError(name: string, value: number, what: string): StompError {
  return new StompError('STOMP_ERR_LIMIT', `limit ${name} (${value}) exceeded: too many ${what}`, { headers: [['limit', name]] });
}

/** Keeps client-supplied text in error messages short. */
function truncate(text: string, max = 128): string {
  return text.length <= max ? text : text.slice(0, max) + '…';
}
