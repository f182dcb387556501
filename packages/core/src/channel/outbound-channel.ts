/**
 * The way from the broker to a session: which Consumer the broker delivers a subscription's
 * messages to.
 *
 * - No outbound interceptor and a plain destination: the session itself. The fan-out hot path is
 *   then broker → session.deliver with nothing in between (no wrapper, no closure, no array).
 * - A user destination: the broker holds the per-session destination ('/queue/x-user<id>'), but
 *   the client must see what it subscribed to ('/user/queue/x', as Spring does). The consumer is
 *   a small object made once per subscription that swaps the destination on each delivery (a copy
 *   of the message: such a message only ever reaches that one session, so no shared encoding is lost).
 * - Outbound interceptors configured: every subscription gets such a consumer, which runs the
 *   chain (interceptors.ts) before session.deliver. When an interceptor is async, later
 *   deliveries to the same session wait behind it, so per-session order holds.
 *
 * Direct replies (subscribe-mapping answers) go through {@link OutboundChannel.deliver} and so
 * see the same interceptors.
 */
import type { Broker, Consumer, Delivery } from '../broker/types';
import { isStompError } from '../errors';
import type { Logger } from '../logger';
import { isThenable } from '../app/payload';
import { channelMessage, headerRecord, InterceptorChain, rebuildMessage, unchangedMessage, type ChannelInterceptor, type ChannelMessage } from './interceptors';
import type { SessionContext } from './inbound-channel';

const DROPPED = Symbol('dropped');

/** One per subscription that needs more than a plain session (display destination, interceptors). */
class SessionConsumer implements Consumer {
  readonly sessionId: string;

  constructor(
    private readonly outbound: OutboundChannel,
    private readonly session: SessionContext,
    private readonly display: string | undefined,
  ) {
    this.sessionId = session.sessionId;
  }

  deliver(delivery: Delivery): void {
    this.outbound.deliver(this.session, delivery, this.display);
  }

  close(message: string): void {
    this.session.close?.(message);
  }
}

export class OutboundChannel {
  private readonly chain: InterceptorChain | undefined;
  /** Session id → the last delivery still inside an async interceptor; later deliveries queue behind it. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    interceptors: readonly ChannelInterceptor[],
    private readonly broker: Broker,
    private readonly logger: Logger,
  ) {
    this.chain = interceptors.length > 0 ? new InterceptorChain(interceptors, 'outbound', logger) : undefined;
  }

  /** The consumer to register with the broker for `session`; `display` = the destination the client subscribed to, when it differs. */
  consumer(session: SessionContext, display?: string): Consumer {
    if (this.chain === undefined && display === undefined) return session;
    return new SessionConsumer(this, session, display);
  }

  /** Delivers to `session` through the outbound interceptors, if any. */
  deliver(session: SessionContext, delivery: Delivery, display?: string): void {
    if (display !== undefined) {
      delivery = { ...delivery, message: { ...delivery.message, destination: display } };
    }
    if (this.chain === undefined) {
      session.deliver(delivery);
      return;
    }
    const sessionId = session.sessionId;
    const before = this.pending.get(sessionId);
    if (before !== undefined) {
      this.track(sessionId, before.then(() => this.intercept(session, delivery)));
      return;
    }
    const result = this.intercept(session, delivery);
    if (result !== undefined) this.track(sessionId, result);
  }

  /** The session ended: stop tracking its queued deliveries. */
  forget(sessionId: string): void {
    this.pending.delete(sessionId);
  }

  private track(sessionId: string, done: Promise<void>): void {
    this.pending.set(sessionId, done);
    done.then(() => {
      if (this.pending.get(sessionId) === done) this.pending.delete(sessionId);
    });
  }

  /** Runs the chain for one delivery; returns a promise only when an interceptor was async. Never rejects. */
  private intercept(session: SessionContext, delivery: Delivery): void | Promise<void> {
    const original = delivery.message;
    const initial = channelMessage({
      command: 'MESSAGE',
      destination: original.destination,
      headers: headerRecord(original.headers),
      body: original.body,
      contentType: original.contentType,
      subscriptionId: delivery.subscriptionId,
    });
    const send = (final: ChannelMessage): void => {
      const message = unchangedMessage(final, original) ? original : rebuildMessage(final, original);
      session.deliver(message === original ? delivery : { ...delivery, message });
    };
    let result: void | typeof DROPPED | Promise<void | typeof DROPPED>;
    try {
      result = this.chain!.run<void | typeof DROPPED>(initial, session, send, DROPPED);
    } catch (err) {
      this.refused(session, delivery, err);
      return;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (outcome) => {
          if (outcome === DROPPED) this.settle(session, delivery);
        },
        (err: unknown) => this.refused(session, delivery, err),
      );
    }
    if (result === DROPPED) this.settle(session, delivery);
  }

  private refused(session: SessionContext, delivery: Delivery, err: unknown): void {
    if (isStompError(err) && err.code !== 'STOMP_ERR_INTERNAL') {
      this.logger.debug({ sessionId: session.sessionId, code: err.code, reason: err.message }, 'outbound interceptor refused a delivery');
      if (err.fatal && session.close !== undefined) {
        session.close(err.message);
        return;
      }
    } else {
      this.logger.error({ err, sessionId: session.sessionId }, 'outbound interceptor failed; delivery skipped');
    }
    this.settle(session, delivery);
  }

  /** A skipped delivery awaiting ACK is acknowledged, so it does not hold a queue or prefetch room. */
  private settle(session: SessionContext, delivery: Delivery): void {
    if (delivery.ackId === undefined) return;
    try {
      const result = this.broker.ack(session.sessionId, delivery.ackId);
      if (isThenable(result)) {
        Promise.resolve(result).catch((err: unknown) => this.logger.error({ err, sessionId: session.sessionId }, 'ack of a skipped delivery failed'));
      }
    } catch (err) {
      this.logger.error({ err, sessionId: session.sessionId }, 'ack of a skipped delivery failed');
    }
  }
}
