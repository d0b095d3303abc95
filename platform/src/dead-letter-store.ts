import type { DeadLetter, DeadLetterPolicy, DeadLetterStore } from '@happyride/eventstore';
import type { Logger } from 'pino';
import type { Collection, Db } from 'mongodb';
import { Gauge, type Registry } from 'prom-client';
import { envNumber } from './config.ts';
import { MAJORITY_WRITES } from './mongo.ts';
import { bulkWriteInSafeCommands } from './mongo.ts';

export const DEAD_LETTERS_COLLECTION = 'dead_letters';

/** `MAX_DELIVERIES`: attempts before a commit a consumer cannot apply is parked. */
export function readMaxDeliveries(env: Record<string, string | undefined>): number {
  return envNumber(env, 'MAX_DELIVERIES', 5, { min: 1, max: 1_000, integer: true });
}

/**
 * Parked commits in MongoDB, one document per consumer and stream sequence. Written with
 * upserts on that id, so parking the same delivery again (a redelivery after a crash) is harmless.
 */
export class MongoDeadLetterStore implements DeadLetterStore {
  readonly #letters: Collection<DeadLetter>;

  constructor(db: Db) {
    this.#letters = db.collection<DeadLetter>(DEAD_LETTERS_COLLECTION, MAJORITY_WRITES);
  }

  async ensureIndexes(): Promise<void> {
    await this.#letters.createIndexes([{ key: { consumer: 1, streamSequence: 1 }, name: 'consumer_sequence' }]);
  }

  async park(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await bulkWriteInSafeCommands(
      this.#letters,
      letters.map((letter) => ({ updateOne: { filter: { _id: letter._id }, update: { $setOnInsert: letter }, upsert: true } })),
    );
  }

  async parkedKeys(consumer: string): Promise<string[]> {
    return this.#keys({ consumer });
  }

  /**
   * Polled by every consumer (every 2 s): read by `consumer` alone, which FerretDB answers from
   * the `consumer_sequence` index (it pushes down no filter of two fields), then sifted here.
   */
  async keysToRetry(consumer: string): Promise<string[]> {
    const docs = await this.#letters.find({ consumer }, { projection: { key: 1, retryRequestedAt: 1 } }).toArray();
    return [...new Set(docs.filter((doc) => doc.retryRequestedAt !== undefined && doc.retryRequestedAt !== null).map((doc) => doc.key))];
  }

  lettersOf(consumer: string, key: string): Promise<DeadLetter[]> {
    return this.#letters.find({ consumer, key }).sort({ streamSequence: 1 }).toArray() as Promise<DeadLetter[]>;
  }

  async remove(id: string): Promise<void> {
    await this.#letters.deleteOne({ _id: id });
  }

  async retryFailed(consumer: string, key: string, id: string, error: string): Promise<void> {
    await this.#letters.updateOne({ _id: id }, { $set: { error, reason: 'failed' }, $inc: { attempts: 1 } });
    await this.#letters.updateMany({ consumer, key }, { $set: { retryRequestedAt: null } });
  }

  /** Asks the consumers to apply their parked commits again (all consumers, or one). @returns letters marked. */
  async requestRetry(consumer?: string, now = new Date()): Promise<number> {
    const result = await this.#letters.updateMany(consumer ? { consumer } : {}, { $set: { retryRequestedAt: now } });
    return result.modifiedCount;
  }

  /** The letters, oldest first (all consumers, or one). */
  list(consumer: string | undefined, first: number): Promise<DeadLetter[]> {
    return this.#letters.find(consumer ? { consumer } : {}).sort({ streamSequence: 1 }).limit(first).toArray() as Promise<DeadLetter[]>;
  }

  count(consumer: string): Promise<number> {
    return this.#letters.countDocuments({ consumer });
  }

  async #keys(filter: Record<string, unknown>): Promise<string[]> {
    const docs = await this.#letters.find(filter, { projection: { key: 1 } }).toArray();
    return [...new Set(docs.map((doc) => doc.key))];
  }
}

/** `dead_lettered_events{consumer}`: commits parked now, read from the store when scraped. */
/** `consumers`: the names to report, or a function giving them now (they change when a projection's generation does). */
export function registerDeadLetterMetrics(registry: Registry, store: MongoDeadLetterStore, consumers: readonly string[] | (() => readonly string[])): void {
  new Gauge({
    name: 'dead_lettered_events',
    help: 'Commits parked in the dead-letter collection (failed or held behind a failed one), by consumer.',
    labelNames: ['consumer'],
    registers: [registry],
    async collect() {
      for (const consumer of typeof consumers === 'function' ? consumers() : consumers) {
        const count = await store.count(consumer).catch(() => null);
        if (count !== null) this.set({ consumer }, count);
      }
    },
  });
}

/** The policy, with parked commits logged as errors (with their correlation id) and retries as info. */
export function logDeadLetters(policy: DeadLetterPolicy, log: Logger): DeadLetterPolicy {
  return {
    ...policy,
    onParked: (letters) => {
      for (const letter of letters) {
        const { key, streamSequence, reason, error } = letter;
        log.error({ key, streamSequence, reason, error, correlationId: letter.commit.events[0]?.correlationId }, 'commit parked as a dead letter');
      }
      policy.onParked?.(letters);
    },
    onRetried: (key, outcome, error) => {
      log.info({ key, outcome, err: error }, 'dead letters retried');
      policy.onRetried?.(key, outcome, error);
    },
  };
}
