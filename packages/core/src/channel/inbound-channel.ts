/**
 * Where a session's neutral messages go. The session turns frames into calls on this channel
 * (send, subscribe, unsubscribe, ack, nack, disconnect); the channel decides by destination prefix
 * who handles them. Today that is the message broker; application (`/app`) and user (`/user`)
 * destinations plug in here too, behind the same calls, so sessions never learn who is behind them.
 *
 * Every method may return a promise; the session keeps frame order by waiting for it.
 */
import type { Broker, BrokerMessage, Consumer, SubscriptionSpec } from '../broker/types';
import { StompError } from '../errors';
import { hasPrefix } from '../options';
import type { Principal } from '../options';

/** What the channel knows of the session a message comes from. */
export interface SessionContext extends Consumer {
  readonly sessionId: string;
  readonly user: Principal | undefined;
  readonly attributes: Map<string, unknown>;
}

export class InboundChannel {
  constructor(
    readonly broker: Broker,
    private readonly brokerPrefixes: readonly string[],
  ) {}

  isBrokerDestination(destination: string): boolean {
    const prefixes = this.brokerPrefixes;
    for (let i = 0; i < prefixes.length; i++) if (hasPrefix(destination, prefixes[i])) return true;
    return false;
  }

  send(_session: SessionContext | undefined, message: BrokerMessage): void | Promise<void> {
    this.requireBrokerDestination(message.destination, 'send to');
    return this.broker.publish(message);
  }

  subscribe(session: SessionContext, spec: SubscriptionSpec): void | Promise<void> {
    this.requireBrokerDestination(spec.destination, 'subscribe to');
    return this.broker.subscribe(session, spec);
  }

  unsubscribe(session: SessionContext, subscriptionId: string): boolean | Promise<boolean> {
    return this.broker.unsubscribe(session.sessionId, subscriptionId);
  }

  ack(session: SessionContext, ackId: string): boolean | Promise<boolean> {
    return this.broker.ack(session.sessionId, ackId);
  }

  nack(session: SessionContext, ackId: string): boolean | Promise<boolean> {
    return this.broker.nack(session.sessionId, ackId);
  }

  disconnect(session: SessionContext): void | Promise<void> {
    return this.broker.disconnect(session.sessionId);
  }

  private requireBrokerDestination(destination: string, verb: string): void {
    if (!this.isBrokerDestination(destination)) {
      throw new StompError(
        'STOMP_ERR_DESTINATION',
        `cannot ${verb} '${destination}': destinations must start with ${this.brokerPrefixes.join(', ')}`,
      );
    }
  }
}
