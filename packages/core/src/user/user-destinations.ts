/**
 * User destinations (default prefix '/user'), resolved as Spring's DefaultUserDestinationResolver
 * does, onto ordinary broker destinations private to one session:
 *
 *   SUBSCRIBE '/user/queue/x'            by session S  →  broker destination '/queue/x-user<S>'
 *   SUBSCRIBE '/user/<own name>/queue/x' by session S  →  the same (own name, or S itself)
 *   SUBSCRIBE '/user/<other>/queue/x'                  →  refused (STOMP_ERR_FORBIDDEN)
 *   SEND / template '/user/<name>/queue/x'             →  '/queue/x-user<S>' for every session S
 *        of user <name> that subscribed to '/user/queue/x'
 *   sendToUser(name, '/queue/x')                       =  '/user/<name>/queue/x'
 *
 * - The suffix after the prefix (or after the user name) must be a broker destination; '/user/
 *   topic/x' works like '/user/queue/x' with topic semantics. On '/queue' the per-session
 *   destination has competing-consumer semantics, which changes nothing for one subscription.
 * - `<name>` is the principal's name with '/' written '%2F' (Spring's encoding). A name matching
 *   no online user reaches the anonymous session with that id (Spring's fallback: anonymous
 *   sessions are addressed by session id), or the sender itself when it names its own session id.
 * - Messages are published only to per-session destinations someone subscribed to (tracked here:
 *   resolved destination → subscription count). A message for a session that never subscribed
 *   would otherwise sit in a '/queue/...-user<S>' forever; nothing would ever consume it.
 * - The MESSAGE frame a client receives shows the destination it subscribed to ('/user/queue/x'),
 *   not the resolved one: see OutboundChannel's display destination.
 * - Clients cannot address resolved destinations directly: a client SEND or SUBSCRIBE to a broker
 *   destination ending in '-user<session id>' is refused (the router checks
 *   {@link isSessionDestination}); server code (template, in-process subscribe) may.
 */
import type { AckMode } from '../broker/types';
import { StompError } from '../errors';
import type { UserRegistry } from './user-registry';

/** What the resolver needs to know about a session. */
export interface UserSession {
  readonly sessionId: string;
  readonly user: { readonly name: string } | undefined;
}

export interface TrackedSubscription {
  readonly destination: string;
  readonly ack: AckMode;
}

const SESSION_SUFFIX = '-user';
/** Session ids are crypto.randomUUID(): 36 characters. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION_TAIL = SESSION_SUFFIX.length + 36;

/** '/' in a user name is written '%2F' inside a destination (as Spring). */
export function encodeUserName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('user name must be a non-empty string');
  if (name.includes('%2F')) throw new TypeError(`user name '${name}' contains '%2F', which cannot be encoded in a user destination`);
  return name.replaceAll('/', '%2F');
}

export function decodeUserName(segment: string): string {
  return segment.replaceAll('%2F', '/');
}

/**
 * True when `destination` ends in '-user<session id>', i.e. is a resolved per-session destination.
 * One string compare unless it really looks like one (this runs on every client SEND).
 */
export function isSessionDestination(destination: string): boolean {
  const at = destination.length - SESSION_TAIL;
  return at > 0 && destination.startsWith(SESSION_SUFFIX, at) && SESSION_ID.test(destination.slice(at + SESSION_SUFFIX.length));
}

export class UserDestinations {
  readonly prefix: string;
  private readonly prefixSlash: string;
  /** Resolved destination → number of live subscriptions to it. */
  private readonly subscribed = new Map<string, number>();
  /** Session id → (subscription id → resolved subscription). */
  private readonly bySession = new Map<string, Map<string, TrackedSubscription>>();

  constructor(
    prefix: string,
    private readonly users: UserRegistry,
    private readonly sessionOf: (sessionId: string) => UserSession | undefined,
    private readonly isBrokerDestination: (destination: string) => boolean,
  ) {
    this.prefix = prefix;
    this.prefixSlash = prefix + '/';
  }

  isUserDestination(destination: string): boolean {
    return destination.startsWith(this.prefixSlash);
  }

  /** The destination private to one session: ('/queue/x', S) → '/queue/x-user<S>'. */
  sessionDestination(suffix: string, sessionId: string): string {
    return suffix + SESSION_SUFFIX + sessionId;
  }

  /** SUBSCRIBE: the broker destination for `session`'s subscription to `destination` ('/user/...'). */
  resolveSubscription(session: UserSession, destination: string): string {
    const rest = destination.slice(this.prefix.length);
    if (this.isBrokerDestination(rest)) return this.sessionDestination(rest, session.sessionId);
    const slash = rest.indexOf('/', 1);
    if (slash > 1) {
      const name = decodeUserName(rest.slice(1, slash));
      const suffix = rest.slice(slash);
      if (name !== session.user?.name && name !== session.sessionId) {
        throw new StompError('STOMP_ERR_FORBIDDEN', `cannot subscribe to '${destination}': it belongs to another user`);
      }
      if (this.isBrokerDestination(suffix)) return this.sessionDestination(suffix, session.sessionId);
    }
    throw new StompError(
      'STOMP_ERR_DESTINATION',
      `cannot subscribe to '${destination}': user destinations look like '${this.prefix}/queue/…' or '${this.prefix}/topic/…'`,
    );
  }

  /** SEND / publish: splits '/user/<name>/<suffix>' and checks the suffix. */
  parseMessageDestination(destination: string): { name: string; suffix: string } {
    const rest = destination.slice(this.prefix.length);
    const slash = rest.indexOf('/', 1);
    if (slash > 1) {
      const suffix = rest.slice(slash);
      if (this.isBrokerDestination(suffix)) return { name: decodeUserName(rest.slice(1, slash)), suffix };
    }
    throw new StompError(
      'STOMP_ERR_DESTINATION',
      `cannot send to '${destination}': messages to users go to '${this.prefix}/<user>/queue/…' (or /topic/…)`,
    );
  }

  /** Resolved destinations, one per session of `name` that subscribed to `suffix`. */
  targets(name: string, suffix: string, senderSessionId: string | undefined): string[] {
    const out: string[] = [];
    const ofUser = this.users.sessionIdsOf(name);
    let sessions: Iterable<string> = ofUser;
    if (ofUser.size === 0) {
      // Spring's fallback: an anonymous session is addressed by its id; so is the sender's own session.
      const session = this.sessionOf(name);
      sessions = session !== undefined && (session.user === undefined || senderSessionId === name) ? [name] : [];
    }
    for (const sessionId of sessions) {
      const resolved = this.sessionDestination(suffix, sessionId);
      if (this.subscribed.has(resolved)) out.push(resolved);
    }
    return out;
  }

  /** Whether any subscription listens on this resolved destination. */
  isSubscribed(resolved: string): boolean {
    return this.subscribed.has(resolved);
  }

  track(sessionId: string, subscriptionId: string, subscription: TrackedSubscription): void {
    let subs = this.bySession.get(sessionId);
    if (subs === undefined) this.bySession.set(sessionId, (subs = new Map()));
    subs.set(subscriptionId, subscription);
    this.subscribed.set(subscription.destination, (this.subscribed.get(subscription.destination) ?? 0) + 1);
  }

  untrack(sessionId: string, subscriptionId: string): void {
    const subs = this.bySession.get(sessionId);
    const sub = subs?.get(subscriptionId);
    if (subs === undefined || sub === undefined) return;
    subs.delete(subscriptionId);
    if (subs.size === 0) this.bySession.delete(sessionId);
    this.release(sub.destination);
  }

  /** The session ended: forgets its subscriptions and returns them. */
  untrackSession(sessionId: string): TrackedSubscription[] {
    const subs = this.bySession.get(sessionId);
    if (subs === undefined) return [];
    this.bySession.delete(sessionId);
    const list = [...subs.values()];
    for (const sub of list) this.release(sub.destination);
    return list;
  }

  private release(destination: string): void {
    const n = (this.subscribed.get(destination) ?? 1) - 1;
    if (n <= 0) this.subscribed.delete(destination);
    else this.subscribed.set(destination, n);
  }
}
