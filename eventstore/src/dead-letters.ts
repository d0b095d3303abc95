import type { Delivery } from './durable-consumer.ts';

/**
 * Poison events. A commit a consumer cannot apply after `maxDeliveries` attempts is parked,
 * with its error, in a dead-letter store and acknowledged, so the consumer moves on.
 *
 * Parking is per key (one aggregate): every later commit of a parked aggregate is parked too
 * ("held" behind it) instead of applied, since applying version n+1 without version n would
 * break the per-aggregate order every projection and saga relies on (the aggregate views
 * would even refuse it as a version gap). Other aggregates keep flowing. A retry applies a
 * key's letters again in stream order; the key is released only when all of them applied.
 */

export type DeadLetterReason = 'failed' | 'held';

export interface DeadLetter {
  /** `<consumer>:<stream sequence>`: parking the same delivery twice is harmless. */
  _id: string;
  consumer: string;
  /** `<aggregate type>:<aggregate id>`: the unit of order. */
  key: string;
  streamSequence: number;
  /** `failed`: it threw `attempts` times; `held`: parked behind an earlier letter of its key. */
  reason: DeadLetterReason;
  error: string;
  attempts: number;
  parkedAt: Date;
  /** Set by the retry command; the consumer applies the key again, then clears it. */
  retryRequestedAt: Date | null;
  commit: Delivery['commit'];
  /** For a message that was not a valid commit: its text (at most 4 KiB). */
  raw?: string;
}

/** Where parked commits live (MongoDB in production, see platform's `MongoDeadLetterStore`). */
export interface DeadLetterStore {
  park(letters: readonly DeadLetter[]): Promise<void>;
  /** Keys with at least one letter for this consumer. */
  parkedKeys(consumer: string): Promise<string[]>;
  /** Keys with a letter whose retry was requested. */
  keysToRetry(consumer: string): Promise<string[]>;
  /** The key's letters, in stream order. */
  lettersOf(consumer: string, key: string): Promise<DeadLetter[]>;
  remove(id: string): Promise<void>;
  /** After a failed retry: the new error, and the retry request cleared for the whole key. */
  retryFailed(consumer: string, key: string, id: string, error: string): Promise<void>;
}

export interface DeadLetterPolicy {
  store: DeadLetterStore;
  /** Attempts (deliveries) before a failing commit is parked. */
  maxDeliveries: number;
  /** How often the consumer looks for retry requests. */
  retryPollMs?: number;
  /**
   * Whether a failure says nothing about the commit (a timeout, a concurrent change): retried by
   * the consumer with its backoff, never counted toward `maxDeliveries`, never parked. Default:
   * the errors that mark themselves (`isTransientFailure`); the services pass platform's
   * `isTransientError` (`classifyFailure`), which also knows MongoDB's and NATS's errors.
   */
  isTransient?: (error: unknown) => boolean;
  onParked?: (letters: readonly DeadLetter[]) => void;
  onRetried?: (key: string, outcome: 'applied' | 'failed', error?: unknown) => void;
}

export const deliveryKey = ({ commit }: Delivery) => `${commit.aggregateType}:${commit.aggregateId}`;

/**
 * Splits a batch by the parked keys: what may be applied, and what must be held because an
 * earlier commit of its aggregate is parked. Pure.
 */
export function routeBatch(batch: readonly Delivery[], parked: ReadonlySet<string>): { apply: Delivery[]; hold: Delivery[] } {
  const apply: Delivery[] = [];
  const hold: Delivery[] = [];
  for (const delivery of batch) (parked.has(deliveryKey(delivery)) ? hold : apply).push(delivery);
  return { apply, hold };
}

/**
 * After a commit failed on its own: park it, or let the consumer retry it. `failures` counts
 * this process's failed attempts; deliveries before this process (JetStream redeliveries after
 * a crash) count too. Pure.
 */
export function decideOnFailure({ failures, deliveryCount, maxDeliveries }: { failures: number; deliveryCount: number; maxDeliveries: number }): 'park' | 'retry' {
  return failures + Math.max(deliveryCount - 1, 0) >= maxDeliveries ? 'park' : 'retry';
}

/**
 * A failure that says nothing about the commit itself, only that it came too early (an
 * aggregate view's version gap: its predecessor is still on its way). Such a failure never
 * counts toward `maxDeliveries` and never parks anything: the commit is retried until its
 * predecessor has been applied. An error marks itself so with `transient = true`.
 */
export const isTransientFailure = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { transient?: unknown }).transient === true;

/** The key under which a message that is not a commit is parked: its own, so it holds nothing behind it. */
export const malformedKey = (subject: string) => `malformed:${subject}`;

/**
 * A message on an events subject that is not a valid commit (not JSON, or not an envelope):
 * it can never be applied, so it is parked at once, under a key of its own (see
 * `malformedKey`), with its raw text; the commit stored is an empty one named after its
 * subject, so a retry of it applies nothing and releases it.
 */
export function malformedLetter(consumer: string, { subject, streamSequence, raw, error }: { subject: string; streamSequence: number; raw: string; error: string }, now: Date): DeadLetter {
  const [, aggregateType = 'unknown', aggregateId = 'unknown'] = subject.split('.');
  return {
    _id: `${consumer}:${streamSequence}`,
    consumer,
    key: malformedKey(subject),
    streamSequence,
    reason: 'failed',
    error: `not a valid commit: ${error}`,
    attempts: 1,
    parkedAt: now,
    retryRequestedAt: null,
    commit: { commandId: `malformed:${streamSequence}`, aggregateType: aggregateType as Delivery['commit']['aggregateType'], aggregateId, version: 0, events: [] },
    raw: raw.slice(0, 4_096),
  };
}

export function deadLetter(consumer: string, delivery: Delivery, reason: DeadLetterReason, error: string, attempts: number, now: Date): DeadLetter {
  return {
    _id: `${consumer}:${delivery.streamSequence}`,
    consumer,
    key: deliveryKey(delivery),
    streamSequence: delivery.streamSequence,
    reason,
    error,
    attempts,
    parkedAt: now,
    retryRequestedAt: null,
    commit: delivery.commit,
  };
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/**
 * Wraps a consumer's batch handler with parking and retries. `handle` applies batches as
 * before; when a batch fails, its commits are tried one by one to find the poison one, which
 * is parked after `maxDeliveries` failures (and the commits of its key after it held). Until
 * then the failure is rethrown and the consumer retries the batch in place, with its backoff.
 *
 * Assumes one worker per durable consumer (as the system runs): parked keys are known in
 * memory, loaded at start and kept up to date by this guard.
 */
export class DeadLetterGuard {
  readonly #parked = new Set<string>();
  readonly #failures = new Map<number, number>();
  #queue: Promise<unknown> = Promise.resolve();
  #loaded = false;

  constructor(
    private readonly consumer: string,
    private readonly handle: (batch: readonly Delivery[]) => Promise<void>,
    private readonly policy: DeadLetterPolicy,
  ) {}

  get parkedKeys(): ReadonlySet<string> {
    return this.#parked;
  }

  handleBatch(batch: readonly Delivery[]): Promise<void> {
    return this.#exclusive(async () => {
      await this.#load();
      const { apply, hold } = routeBatch(batch, this.#parked);
      if (hold.length > 0) await this.#park(hold.map((d) => deadLetter(this.consumer, d, 'held', 'an earlier event of this aggregate is parked', 0, new Date())));
      if (apply.length === 0) return;
      try {
        await this.handle(apply);
        for (const d of apply) this.#failures.delete(d.streamSequence);
        return;
      } catch (error) {
        // A timeout or a concurrent change says nothing about any commit: no search, the batch is retried as it is.
        if (this.#isTransient(error)) throw error;
        if (apply.length === 1) return this.#failed(apply[0]!, error);
      }
      // Find the poison commit: one by one, in order, holding what follows a parked one.
      for (const delivery of apply) {
        if (this.#parked.has(deliveryKey(delivery))) {
          await this.#park([deadLetter(this.consumer, delivery, 'held', 'an earlier event of this aggregate is parked', 0, new Date())]);
          continue;
        }
        try {
          await this.handle([delivery]);
          this.#failures.delete(delivery.streamSequence);
        } catch (error) {
          await this.#failed(delivery, error);
        }
      }
    });
  }

  /**
   * Applies again the keys whose retry was requested. @returns how many keys were released.
   * With nothing parked (the store is read once, at the first call) there is nothing to retry
   * and the store is not asked: the consumers' idle polls cost nothing.
   */
  processRetries(): Promise<number> {
    if (this.#loaded && this.#parked.size === 0) return Promise.resolve(0);
    return this.#exclusive(async () => {
      await this.#load();
      const { store } = this.policy;
      let released = 0;
      for (const key of await store.keysToRetry(this.consumer)) {
        let failed = false;
        for (const letter of await store.lettersOf(this.consumer, key)) {
          try {
            await this.handle([{ commit: letter.commit, streamSequence: letter.streamSequence, deliveryCount: 1 }]);
            await store.remove(letter._id);
          } catch (error) {
            await store.retryFailed(this.consumer, key, letter._id, describe(error));
            this.policy.onRetried?.(key, 'failed', error);
            failed = true;
            break;
          }
        }
        if (failed) continue;
        this.#parked.delete(key);
        this.policy.onRetried?.(key, 'applied');
        released++;
      }
      return released;
    });
  }

  /** Parks messages that are not commits (see `malformedLetter`), at once. */
  parkMalformed(letters: readonly DeadLetter[]): Promise<void> {
    return this.#exclusive(() => this.#park([...letters]));
  }

  async #failed(delivery: Delivery, error: unknown): Promise<void> {
    // Too early, too slow or raced is not poison: never counted, never parked (the consumer retries it with backoff).
    if (this.#isTransient(error)) throw error;
    const failures = (this.#failures.get(delivery.streamSequence) ?? 0) + 1;
    if (decideOnFailure({ failures, deliveryCount: delivery.deliveryCount, maxDeliveries: this.policy.maxDeliveries }) === 'retry') {
      this.#failures.set(delivery.streamSequence, failures);
      throw error;
    }
    await this.#park([deadLetter(this.consumer, delivery, 'failed', describe(error), failures + Math.max(delivery.deliveryCount - 1, 0), new Date())]);
    this.#failures.delete(delivery.streamSequence);
  }

  #isTransient(error: unknown): boolean {
    return (this.policy.isTransient ?? isTransientFailure)(error);
  }

  async #park(letters: DeadLetter[]): Promise<void> {
    await this.policy.store.park(letters);
    for (const letter of letters) this.#parked.add(letter.key);
    this.policy.onParked?.(letters);
  }

  async #load(): Promise<void> {
    if (this.#loaded) return;
    for (const key of await this.policy.store.parkedKeys(this.consumer)) this.#parked.add(key);
    this.#loaded = true;
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }
}
