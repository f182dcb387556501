/**
 * Heart-beat timing for every session of a server: one interval per distinct period, walking the
 * sessions that use it, instead of two interval timers per session (as Spring's simple broker
 * runs one scheduled task for all its sessions). Two Timeouts with their argument arrays and
 * clock fields cost ~450 bytes per connection, most of the memory an idle connection with
 * heart-beats needed beyond the one without; a Set membership costs a few dozen.
 *
 * Each session still gets its own deadline: the tick only asks it (`sendHeartbeatIfIdle`,
 * `checkPeerAlive`), and the session compares with its own last read or write. Ticking at half
 * the negotiated interval keeps the same bounds as a timer per session had.
 */
type Tick<T> = (member: T, arg: number) => void;

class Group<T> {
  readonly members = new Set<T>();
  timer: NodeJS.Timeout | undefined;

  constructor(readonly arg: number) {}
}

export class HeartbeatClock<T> {
  /** Groups by `arg` (a given arg always comes with the same period). */
  private readonly groups = new Map<number, Group<T>>();

  constructor(
    private readonly tick: Tick<T>,
    /** A member's tick threw: reported here, and the other members still get theirs. */
    private readonly onError: (err: unknown, member: T) => void,
  ) {}

  /** Calls `tick(member, arg)` every `period` ms until remove(member, arg). */
  add(member: T, period: number, arg: number): void {
    let group = this.groups.get(arg);
    if (group === undefined) {
      group = new Group<T>(arg);
      group.timer = setInterval(runGroup, Math.max(1, period), this, group);
      group.timer.unref();
      this.groups.set(arg, group);
    }
    group.members.add(member);
  }

  remove(member: T, arg: number): void {
    const group = this.groups.get(arg);
    if (group === undefined || !group.members.delete(member) || group.members.size > 0) return;
    clearInterval(group.timer);
    this.groups.delete(arg);
  }

  /** Members ticking now (tests, stats). */
  get size(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.members.size;
    return n;
  }

  /** @internal */
  run(group: Group<T>): void {
    // A member may leave during its own tick (a heart-beat timeout closes the session): Sets
    // tolerate deletion while iterated.
    for (const member of group.members) {
      try {
        this.tick(member, group.arg);
      } catch (err) {
        this.onError(err, member);
      }
    }
  }
}

function runGroup<T>(clock: HeartbeatClock<T>, group: Group<T>): void {
  clock.run(group);
}
