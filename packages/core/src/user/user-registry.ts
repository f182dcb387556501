/**
 * Who is online: user name → the ids of that user's connected sessions. A session is added when
 * it is connected (CONNECTED sent) and has a principal, and removed when it ends; anonymous
 * sessions are not users (they are in `broker.sessions`, and user destinations reach them by
 * session id). Synchronous and always current: there is no window where an event has fired but the
 * registry does not show it yet.
 *
 * Events: 'online'(name) when a user's first session connects, 'offline'(name) when their last
 * one ends. They fire after the registry changed, and before the broker's own 'connected' /
 * 'disconnect' events for that session.
 */
import { EventEmitter } from 'node:events';

export interface UserInfo {
  readonly name: string;
  /** Ids of the user's live sessions, oldest first. */
  readonly sessionIds: string[];
}

export interface UserRegistryEvents {
  online: [name: string];
  offline: [name: string];
}

const NO_SESSIONS: ReadonlySet<string> = new Set();

export class UserRegistry extends EventEmitter<UserRegistryEvents> {
  private readonly users = new Map<string, Set<string>>();

  /** `onListenerError` receives what an 'online'/'offline' listener throws (it never reaches the session). */
  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {
    super();
  }

  /** A snapshot of the user, or undefined when they have no session. */
  get(name: string): UserInfo | undefined {
    const sessions = this.users.get(name);
    return sessions === undefined ? undefined : { name, sessionIds: [...sessions] };
  }

  /** Snapshots of every online user. */
  list(): UserInfo[] {
    return Array.from(this.users, ([name, sessions]) => ({ name, sessionIds: [...sessions] }));
  }

  /** Number of online users (not sessions). */
  count(): number {
    return this.users.size;
  }

  isOnline(name: string): boolean {
    return this.users.has(name);
  }

  /** The live set of the user's session ids (do not modify); empty when offline. */
  sessionIdsOf(name: string): ReadonlySet<string> {
    return this.users.get(name) ?? NO_SESSIONS;
  }

  /** @internal Called by the broker when a session with a principal is connected. */
  add(name: string, sessionId: string): void {
    let sessions = this.users.get(name);
    const first = sessions === undefined;
    if (sessions === undefined) this.users.set(name, (sessions = new Set()));
    sessions.add(sessionId);
    if (first) this.notify('online', name);
  }

  /** @internal Called by the broker when a session ends. Idempotent. */
  remove(name: string, sessionId: string): void {
    const sessions = this.users.get(name);
    if (sessions === undefined || !sessions.delete(sessionId)) return;
    if (sessions.size === 0) {
      this.users.delete(name);
      this.notify('offline', name);
    }
  }

  private notify(event: keyof UserRegistryEvents, name: string): void {
    try {
      this.emit(event, name);
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
