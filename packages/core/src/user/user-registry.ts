/**
 * Who is online: user name → the ids of that user's connected sessions. A session is added when
 * it is connected (CONNECTED sent) and has a principal, and removed when it ends; anonymous
 * sessions are not users (they are in `broker.sessions`, and user destinations reach them by
 * session id). Synchronous and always current: there is no window where an event has fired but the
 * registry does not show it yet.
 *
 * Events: 'online'(name) when a user's first session connects, 'offline'(name) when their last
 * one ends. They fire after the registry changed, and before the broker's own 'connected' /
 * 'disconnect' events for that session. 'join'/'leave'(name, sessionId) fire for every session of
 * this process that is added or removed.
 *
 * Across nodes (a relay broker, relay/): other nodes' users are merged in as the relay learns them
 * (`setRemote`, `addRemote`, …). get/list/count/isOnline and 'online'/'offline' then describe the
 * whole cluster (eventually consistent); `sessionIdsOf` stays local (it resolves user destinations
 * on this node), and `nodesOf` tells where else a user is connected.
 */
import { EventEmitter } from 'node:events';

export interface UserInfo {
  readonly name: string;
  /** Ids of the user's live sessions, oldest first (this node's first, then other nodes'). */
  readonly sessionIds: string[];
  /** With a relay broker: the ids of the nodes the user is connected to (this node's id first when local). */
  readonly nodes?: string[];
}

export interface UserRegistryEvents {
  online: [name: string];
  offline: [name: string];
  /** A session of this node with a principal was added. */
  join: [name: string, sessionId: string];
  /** A session of this node with a principal ended. */
  leave: [name: string, sessionId: string];
}

const NO_SESSIONS: ReadonlySet<string> = new Set();

export class UserRegistry extends EventEmitter<UserRegistryEvents> {
  private readonly users = new Map<string, Set<string>>();
  /** Other nodes: node id → user name → session ids (a relay broker keeps it current). */
  private readonly remote = new Map<string, Map<string, string[]>>();
  /** This node's id once a relay attached (listed in `nodes`). */
  private localNode: string | undefined;

  /** `onListenerError` receives what an 'online'/'offline' listener throws (it never reaches the session). */
  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {
    super();
  }

  /** A snapshot of the user, or undefined when they have no session. */
  get(name: string): UserInfo | undefined {
    const sessions = this.users.get(name);
    if (this.localNode === undefined) return sessions === undefined ? undefined : { name, sessionIds: [...sessions] };
    const sessionIds = sessions === undefined ? [] : [...sessions];
    const nodes = sessions === undefined ? [] : [this.localNode];
    for (const [node, users] of this.remote) {
      const ids = users.get(name);
      if (ids === undefined) continue;
      nodes.push(node);
      sessionIds.push(...ids);
    }
    return nodes.length === 0 ? undefined : { name, sessionIds, nodes };
  }

  /** Snapshots of every online user (of every node, with a relay broker). */
  list(): UserInfo[] {
    if (this.localNode === undefined) return Array.from(this.users, ([name, sessions]) => ({ name, sessionIds: [...sessions] }));
    return Array.from(this.names(), (name) => this.get(name)!);
  }

  /** Number of online users (not sessions). */
  count(): number {
    return this.localNode === undefined ? this.users.size : this.names().size;
  }

  isOnline(name: string): boolean {
    if (this.users.has(name)) return true;
    for (const users of this.remote.values()) if (users.has(name)) return true;
    return false;
  }

  /** Ids of the other nodes where `name` has sessions (empty without a relay). */
  nodesOf(name: string): string[] {
    const out: string[] = [];
    for (const [node, users] of this.remote) if (users.has(name)) out.push(node);
    return out;
  }

  /** This node's users as name → session ids (what a relay broadcasts). */
  localSnapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = Object.create(null);
    for (const [name, sessions] of this.users) out[name] = [...sessions];
    return out;
  }

  /** Ids of the other nodes known now. */
  remoteNodes(): string[] {
    return [...this.remote.keys()];
  }

  /** @internal A relay broker attached: `node` is this node's id. */
  setLocalNode(node: string): void {
    this.localNode = node;
  }

  /** @internal Replaces everything known about `node` (a snapshot). */
  setRemote(node: string, users: Record<string, string[]>): void {
    const before = this.remote.get(node);
    const next = new Map<string, string[]>();
    for (const name of Object.keys(users)) if (Array.isArray(users[name]) && users[name].length > 0) next.set(name, users[name].map(String));
    const changed = new Set<string>([...(before?.keys() ?? []), ...next.keys()]);
    this.changeRemote(changed, () => this.remote.set(node, next));
  }

  /** @internal `node` reported a new session of `name`. */
  addRemote(node: string, name: string, sessionId: string): void {
    this.changeRemote([name], () => {
      let users = this.remote.get(node);
      if (users === undefined) this.remote.set(node, (users = new Map()));
      const ids = users.get(name) ?? [];
      if (!ids.includes(sessionId)) users.set(name, [...ids, sessionId]);
    });
  }

  /** @internal `node` reported that a session of `name` ended. */
  removeRemote(node: string, name: string, sessionId: string): void {
    const users = this.remote.get(node);
    const ids = users?.get(name);
    if (users === undefined || ids === undefined) return;
    this.changeRemote([name], () => {
      const rest = ids.filter((id) => id !== sessionId);
      if (rest.length === 0) users.delete(name);
      else users.set(name, rest);
    });
  }

  /** @internal `node` left or expired: forget its users. */
  dropNode(node: string): void {
    const users = this.remote.get(node);
    if (users === undefined) return;
    this.changeRemote([...users.keys()], () => this.remote.delete(node));
  }

  private names(): Set<string> {
    const names = new Set(this.users.keys());
    for (const users of this.remote.values()) for (const name of users.keys()) names.add(name);
    return names;
  }

  /** Applies a change to the remote part and fires 'online'/'offline' for names whose presence changed. */
  private changeRemote(names: Iterable<string>, change: () => void): void {
    const list = [...names];
    const before = list.map((name) => this.isOnline(name));
    change();
    for (let i = 0; i < list.length; i++) {
      const now = this.isOnline(list[i]);
      if (now !== before[i]) this.notify(now ? 'online' : 'offline', list[i]);
    }
  }

  /** The live set of the user's session ids (do not modify); empty when offline. */
  sessionIdsOf(name: string): ReadonlySet<string> {
    return this.users.get(name) ?? NO_SESSIONS;
  }

  /** @internal Called by the broker when a session with a principal is connected. */
  add(name: string, sessionId: string): void {
    const wasOnline = this.isOnline(name);
    let sessions = this.users.get(name);
    if (sessions === undefined) this.users.set(name, (sessions = new Set()));
    sessions.add(sessionId);
    if (!wasOnline) this.notify('online', name);
    this.notify('join', name, sessionId);
  }

  /** @internal Called by the broker when a session ends. Idempotent. */
  remove(name: string, sessionId: string): void {
    const sessions = this.users.get(name);
    if (sessions === undefined || !sessions.delete(sessionId)) return;
    if (sessions.size === 0) {
      this.users.delete(name);
      if (!this.isOnline(name)) this.notify('offline', name);
    }
    this.notify('leave', name, sessionId);
  }

  private notify(event: keyof UserRegistryEvents, name: string, sessionId?: string): void {
    try {
      if (event === 'join' || event === 'leave') this.emit(event, name, sessionId!);
      else this.emit(event as 'online' | 'offline', name);
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
