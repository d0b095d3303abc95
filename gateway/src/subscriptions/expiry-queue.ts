/** setTimeout's longest delay; a later expiry re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Items that expire at a time each (sockets at their token's `exp`), on one unref'd timer for
 * all of them instead of a timer and its closures per item: grouped by the second they expire
 * in (a JWT's `exp` is in whole seconds, so nothing expires late), `onExpiry` called for each
 * once that second has come.
 * @example const expiring = new ExpiryQueue<WebSocket>((socket) => socket.close(4403, 'Token expired')); expiring.add(socket, exp * 1000);
 */
export class ExpiryQueue<T> {
  readonly #due = new Map<number, Set<T>>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(
    private readonly onExpiry: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items waiting (for tests and metrics). */
  get size(): number {
    let count = 0;
    for (const items of this.#due.values()) count += items.size;
    return count;
  }

  add(item: T, expiresAtMs: number): void {
    const second = ExpiryQueue.#secondOf(expiresAtMs);
    let items = this.#due.get(second);
    if (!items) this.#due.set(second, (items = new Set()));
    items.add(item);
    if (second < this.#timerAt) this.#arm(second);
  }

  /** Forgets `item` (added with this `expiresAtMs`): it will not expire. */
  delete(item: T, expiresAtMs: number): void {
    const second = ExpiryQueue.#secondOf(expiresAtMs);
    const items = this.#due.get(second);
    if (!items?.delete(item) || items.size > 0) return;
    this.#due.delete(second);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#due.clear();
  }

  static #secondOf(ms: number): number {
    return Math.ceil(ms / 1000) * 1000;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, at - this.now()), MAX_TIMER_MS));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.now();
    let next = Infinity;
    for (const [second, items] of this.#due) {
      if (second > now) {
        next = Math.min(next, second);
        continue;
      }
      this.#due.delete(second);
      for (const item of items) this.onExpiry(item);
    }
    if (next < Infinity && next < this.#timerAt) this.#arm(next);
  }
}
