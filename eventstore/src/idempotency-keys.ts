import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from './nats.ts';
import { ensureBucket, type ReplicaOptions } from './replicas.ts';

/** The JetStream KV bucket of client idempotency keys (API.md, Retries). */
export const IDEMPOTENCY_KEYS_BUCKET = 'idempotency-keys';
/** Keys are remembered this long after their last write (the bucket's max age). */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60_000;

/** What the first attempt under a key decided: its payload, or the domain error it answered. */
export type RecordedOutcome = { status: 'done'; payload: unknown } | { status: 'refused'; kind: string; message: string };

/** One caller's key: which mutation and input it was first used with, and (once known) the outcome. */
export interface IdempotencyRecord {
  /** Hash of the mutation name and its canonical input. */
  fingerprint: string;
  mutation: string;
  firstSeenAt: string;
  outcome?: RecordedOutcome;
}

export interface ClaimedKey {
  record: IdempotencyRecord;
  /** The entry's revision, for `settle`. */
  revision: number;
}

/**
 * Where keys are remembered. `scope` is a hash of the caller and their key (a valid KV key).
 * `claim` writes the record if the key is new (create-if-absent) and otherwise returns the
 * one already there; `settle` adds the outcome if the entry is still at `revision` (a
 * concurrent retry that settled first wins; its outcome is the same).
 */
export interface IdempotencyKeys {
  claim(scope: string, record: IdempotencyRecord): Promise<ClaimedKey>;
  settle(scope: string, revision: number, record: IdempotencyRecord): Promise<void>;
}

/** Creates the bucket if it is missing (history 1, entries expire after the TTL). Called by the bootstrap step. */
export async function ensureIdempotencyKeysBucket(jsm: JetStreamManager, replicas: ReplicaOptions = {}): Promise<void> {
  await ensureBucket(jsm, IDEMPOTENCY_KEYS_BUCKET, { history: 1, ttl: IDEMPOTENCY_KEY_TTL_MS }, replicas);
}

const isWrongLastSequence = (error: unknown) =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/** Opens a bucket made by the bootstrap step; a missing one fails at start-up, naming the step. */
export async function openBootstrappedBucket(js: JetStreamClient, bucket: string): Promise<KV> {
  const kv = await new Kvm(js).open(bucket);
  try {
    await kv.status();
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
      throw new Error(`The KV bucket ${bucket} does not exist: run the bootstrap step (npm run bootstrap).`, { cause: error });
    }
    throw error;
  }
  return kv;
}

/** Idempotency keys in the JetStream KV bucket: as durable as the event log, expiring by themselves. */
export class KvIdempotencyKeys implements IdempotencyKeys {
  private constructor(private readonly kv: KV) {}

  static async open(js: JetStreamClient): Promise<KvIdempotencyKeys> {
    return new KvIdempotencyKeys(await openBootstrappedBucket(js, IDEMPOTENCY_KEYS_BUCKET));
  }

  async claim(scope: string, record: IdempotencyRecord): Promise<ClaimedKey> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return { record, revision: await this.kv.create(scope, JSON.stringify(record)) };
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
      const entry = await this.kv.get(scope);
      if (entry?.operation === 'PUT') return { record: entry.json<IdempotencyRecord>(), revision: entry.revision };
      // expired between the two calls: create it again
    }
    throw new Error(`idempotency key ${scope} kept changing while it was claimed`);
  }

  async settle(scope: string, revision: number, record: IdempotencyRecord): Promise<void> {
    try {
      await this.kv.update(scope, JSON.stringify(record), revision);
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
  }
}

/** The same contract in memory, for unit tests. */
export class InMemoryIdempotencyKeys implements IdempotencyKeys {
  readonly #entries = new Map<string, ClaimedKey>();
  #revision = 0;

  async claim(scope: string, record: IdempotencyRecord): Promise<ClaimedKey> {
    const existing = this.#entries.get(scope);
    if (existing) return structuredClone(existing);
    const claimed = { record: structuredClone(record), revision: ++this.#revision };
    this.#entries.set(scope, claimed);
    return structuredClone(claimed);
  }

  async settle(scope: string, revision: number, record: IdempotencyRecord): Promise<void> {
    if (this.#entries.get(scope)?.revision !== revision) return;
    this.#entries.set(scope, { record: structuredClone(record), revision: ++this.#revision });
  }
}
