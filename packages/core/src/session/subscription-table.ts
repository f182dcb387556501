/**
 * A session's subscriptions by id, as a Map that holds a single subscription without one.
 *
 * Most sessions subscribe once or a few times and then idle for hours; a Map with one entry costs
 * ~210 bytes (its hash table is sized for four), which at 10,000 connections was 2 MB of the
 * server's memory. The table keeps the first subscription in a field and makes a Map from the
 * second on; reading it as a ReadonlyMap (the inspector does) works either way.
 */
const EMPTY: ReadonlyMap<string, never> = new Map<string, never>();

export class SubscriptionTable<V> implements ReadonlyMap<string, V> {
  private oneKey: string | undefined = undefined;
  private oneValue: V | undefined = undefined;
  private many: Map<string, V> | undefined = undefined;

  get size(): number {
    if (this.many !== undefined) return this.many.size;
    return this.oneKey === undefined ? 0 : 1;
  }

  get(key: string): V | undefined {
    if (this.many !== undefined) return this.many.get(key);
    return key === this.oneKey ? this.oneValue : undefined;
  }

  has(key: string): boolean {
    if (this.many !== undefined) return this.many.has(key);
    return key === this.oneKey;
  }

  set(key: string, value: V): this {
    if (this.many !== undefined) {
      this.many.set(key, value);
    } else if (this.oneKey === undefined || this.oneKey === key) {
      this.oneKey = key;
      this.oneValue = value;
    } else {
      this.many = new Map([[this.oneKey, this.oneValue as V], [key, value]]);
      this.oneKey = this.oneValue = undefined;
    }
    return this;
  }

  delete(key: string): boolean {
    if (this.many !== undefined) {
      const deleted = this.many.delete(key);
      if (this.many.size === 0) this.many = undefined;
      return deleted;
    }
    if (key !== this.oneKey) return false;
    this.oneKey = this.oneValue = undefined;
    return true;
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  keys(): MapIterator<string> {
    return this.view().keys();
  }

  values(): MapIterator<V> {
    return this.view().values();
  }

  entries(): MapIterator<[string, V]> {
    return this.view().entries();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  /** The entries as a Map: the live one, or a one-entry copy. */
  private view(): ReadonlyMap<string, V> {
    if (this.many !== undefined) return this.many;
    if (this.oneKey === undefined) return EMPTY;
    return new Map([[this.oneKey, this.oneValue as V]]);
  }
}
