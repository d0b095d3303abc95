/**
 * Answers of a query subgraph kept in memory and dropped by the read model's change notices.
 *
 * The projector publishes a notice after each write it made (`updates.trip.<id>`, core NATS).
 * Every notice drops every answer held, and a read is served from memory only after a NATS
 * round trip (`inStep`: a PING answered by its PONG) has shown that every notice nats-server
 * had routed to this process before the read began has been heard. So an answer held is never
 * older than the last notice published before the read: once a caller has learnt of a write
 * (its notice reached a `tripUpdates` subscriber, or a fresh read showed it after its notice),
 * no read from this cache goes back before it. A load that a notice overtakes is not kept.
 * While NATS cannot say (disconnected, or no PONG within the bound), reads skip the cache.
 */
export interface ReadCache {
  /** `load()`'s answer for `key`: held if still in step with the notices, otherwise loaded (and held). */
  read<T>(key: string, load: () => Promise<T>): Promise<T>;
}

/** No cache: every read loads (a subgraph without notices, tests). */
export const uncachedReads: ReadCache = { read: (_key, load) => load() };

export interface NoticeCacheOptions {
  /** Resolves true once every notice published before the call has been heard; false when that cannot be known now. */
  inStep: () => Promise<boolean>;
  /** Answers held at most (least recently read dropped first); default 256. */
  maxEntries?: number;
  /** An answer is loaded again after this long even without a notice (ms); default 5,000. */
  ttlMs?: number;
  now?: () => number;
}

interface Held {
  value: Promise<unknown>;
  epoch: number;
  until: number;
}

export class NoticeInvalidatedCache implements ReadCache {
  /** Bumped by every notice: an answer loaded in an older epoch may miss a write. */
  #epoch = 0;
  readonly #held = new Map<string, Held>();
  readonly #inStep: () => Promise<boolean>;
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor({ inStep, maxEntries = 256, ttlMs = 5_000, now = Date.now }: NoticeCacheOptions) {
    this.#inStep = inStep;
    this.#maxEntries = maxEntries;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** A notice (or a gap in them): every answer held may be out of date now. */
  invalidate(): void {
    this.#epoch++;
    this.#held.clear();
  }

  /** How many answers are held now. */
  get size(): number {
    return this.#held.size;
  }

  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.#maxEntries === 0) return load();
    if (!(await this.#inStep())) {
      this.invalidate();
      return load();
    }
    // From here to the end, no notice can come in between (they arrive on later turns).
    const now = this.#now();
    const held = this.#held.get(key);
    if (held && held.epoch === this.#epoch && held.until > now) {
      this.#held.delete(key);
      this.#held.set(key, held); // the most recently read last
      return held.value as Promise<T>;
    }
    // Readers that come while it loads share it, until a notice drops it.
    const entry: Held = { value: load(), epoch: this.#epoch, until: now + this.#ttlMs };
    this.#held.set(key, entry);
    if (this.#held.size > this.#maxEntries) this.#held.delete(this.#held.keys().next().value!);
    entry.value.catch(() => {
      if (this.#held.get(key) === entry) this.#held.delete(key);
    });
    return entry.value as Promise<T>;
  }
}
