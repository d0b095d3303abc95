import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from './nats.ts';
import { IdempotencyKeyLimitError, IdempotencyStoreFullError, reserveKey, type KeyQuota, type QuotaLimits } from './idempotency-quota.ts';
import { ensureBucket, type ReplicaOptions } from './replicas.ts';

/** The JetStream KV bucket of client idempotency keys and their outcomes (API.md, Retries). */
export const IDEMPOTENCY_KEYS_BUCKET = 'idempotency-keys';
/**
 * The KV bucket of each key's fingerprint (which mutation and input it was first used with),
 * kept longer than the outcome, and of each caller's key count (`quota.<caller>`).
 */
export const IDEMPOTENCY_FINGERPRINTS_BUCKET = 'idempotency-fingerprints';
/** Outcomes are remembered this long after their last write (the keys bucket's max age). */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60_000;
/** Fingerprints are remembered this long after a key's first use (the fingerprints bucket's max age). */
export const IDEMPOTENCY_FINGERPRINT_RETENTION_MS = 30 * 24 * 60 * 60_000;
/** The most keys one caller may hold (first used within the fingerprint retention). */
export const IDEMPOTENCY_KEYS_PER_CALLER = 10_000;

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
 * Where keys are remembered. `scope` is a hash of the caller and their key (a valid KV key),
 * `caller` a hash of the caller alone. `claim` answers the record the key was first used with:
 * its fingerprint is remembered for the retention, its outcome for the TTL; a key new to the
 * caller is counted against their quota first (`IdempotencyKeyLimitError` past it). It writes
 * `record` if the key is new (create-if-absent). `settle` adds the outcome if the entry is
 * still at `revision` (a concurrent retry that settled first wins; its outcome is the same).
 * A store at its size bound throws `IdempotencyStoreFullError`.
 */
export interface IdempotencyKeys {
  claim(scope: string, record: IdempotencyRecord, caller: string): Promise<ClaimedKey>;
  settle(scope: string, revision: number, record: IdempotencyRecord): Promise<void>;
}

export interface IdempotencyBucketOptions extends ReplicaOptions {
  /** Max age of an outcome (the keys bucket). */
  ttlMs?: number;
  /** Max age of a fingerprint (the fingerprints bucket). */
  retentionMs?: number;
  /** max_bytes of each of the two buckets. */
  maxBytes: number;
}

/**
 * Creates both buckets if missing (history 1, entries expire after the TTL / the retention,
 * each bounded by `maxBytes`), or brings their limits to these. Called by the bootstrap step.
 */
export async function ensureIdempotencyKeysBucket(
  jsm: JetStreamManager,
  { ttlMs = IDEMPOTENCY_KEY_TTL_MS, retentionMs = IDEMPOTENCY_FINGERPRINT_RETENTION_MS, maxBytes, replicas }: IdempotencyBucketOptions,
): Promise<void> {
  if (retentionMs < ttlMs) throw new Error(`The idempotency fingerprint retention (${retentionMs} ms) must not be shorter than the key TTL (${ttlMs} ms).`);
  await ensureBucket(jsm, IDEMPOTENCY_KEYS_BUCKET, { history: 1, ttl: ttlMs, max_bytes: maxBytes }, { replicas });
  await ensureBucket(jsm, IDEMPOTENCY_FINGERPRINTS_BUCKET, { history: 1, ttl: retentionMs, max_bytes: maxBytes }, { replicas });
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

/** JetStream refused a write because the bucket is at its size bound (discard new). */
const isBucketFull = (error: unknown) => error instanceof JetStreamApiError && /maximum (bytes|messages) exceeded|resource limits exceeded/i.test(error.message);

const asStoreFull = (error: unknown): unknown =>
  isBucketFull(error) ? new IdempotencyStoreFullError('The idempotency-key store is full.', { cause: error }) : error;

export interface IdempotencyKeysOptions {
  /** The most keys one caller may hold. */
  perCaller?: number;
  /** The clock (ms) the quota counts with. */
  now?: () => number;
}

const fingerprintOnly = ({ fingerprint, mutation, firstSeenAt }: IdempotencyRecord): IdempotencyRecord => ({ fingerprint, mutation, firstSeenAt });

/** Idempotency keys in two JetStream KV buckets: as durable as the event log, expiring by themselves, bounded in bytes. */
export class KvIdempotencyKeys implements IdempotencyKeys {
  private constructor(
    private readonly keys: KV,
    private readonly fingerprints: KV,
    private readonly limits: QuotaLimits,
    private readonly now: () => number,
  ) {}

  /** Opens both buckets; the fingerprints bucket's max age is the horizon keys are counted over. */
  static async open(js: JetStreamClient, { perCaller = IDEMPOTENCY_KEYS_PER_CALLER, now = Date.now }: IdempotencyKeysOptions = {}): Promise<KvIdempotencyKeys> {
    const keys = await openBootstrappedBucket(js, IDEMPOTENCY_KEYS_BUCKET);
    const fingerprints = await openBootstrappedBucket(js, IDEMPOTENCY_FINGERPRINTS_BUCKET);
    const horizonMs = (await fingerprints.status()).ttl || IDEMPOTENCY_FINGERPRINT_RETENTION_MS;
    return new KvIdempotencyKeys(keys, fingerprints, { perCaller, horizonMs }, now);
  }

  async claim(scope: string, record: IdempotencyRecord, caller: string): Promise<ClaimedKey> {
    try {
      const known = (await this.#fingerprintOf(scope)) ?? (await this.#firstUse(scope, record, caller));
      if (known.fingerprint !== record.fingerprint) return { record: known, revision: 0 };
      return await this.#claimOutcome(scope, record);
    } catch (error) {
      throw asStoreFull(error);
    }
  }

  async settle(scope: string, revision: number, record: IdempotencyRecord): Promise<void> {
    try {
      await this.keys.update(scope, JSON.stringify(record), revision);
    } catch (error) {
      if (!isWrongLastSequence(error)) throw asStoreFull(error);
    }
  }

  async #fingerprintOf(scope: string): Promise<IdempotencyRecord | null> {
    const entry = await this.fingerprints.get(scope);
    return entry?.operation === 'PUT' ? entry.json<IdempotencyRecord>() : null;
  }

  /** A key new to its caller: counted, then its fingerprint written (of racing first uses, the first write wins). */
  async #firstUse(scope: string, record: IdempotencyRecord, caller: string): Promise<IdempotencyRecord> {
    await this.#count(caller);
    try {
      await this.fingerprints.create(scope, JSON.stringify(fingerprintOnly(record)));
      return record;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
    return (await this.#fingerprintOf(scope)) ?? record;
  }

  async #count(caller: string): Promise<void> {
    const key = `quota.${caller}`;
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.fingerprints.get(key);
      const live = entry?.operation === 'PUT' ? entry : null;
      const reservation = reserveKey(live?.json<KeyQuota>() ?? null, this.now(), this.limits);
      if (reservation.kind === 'exhausted') throw new IdempotencyKeyLimitError(this.limits.perCaller, reservation.retryAfterMs);
      try {
        if (live) await this.fingerprints.update(key, JSON.stringify(reservation.quota), live.revision);
        else await this.fingerprints.create(key, JSON.stringify(reservation.quota));
        return;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
    }
    throw new Error(`the key count of caller ${caller} kept changing while it was counted`);
  }

  async #claimOutcome(scope: string, record: IdempotencyRecord): Promise<ClaimedKey> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return { record, revision: await this.keys.create(scope, JSON.stringify(record)) };
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
      const entry = await this.keys.get(scope);
      if (entry?.operation === 'PUT') return { record: entry.json<IdempotencyRecord>(), revision: entry.revision };
      // expired between the two calls: create it again
    }
    throw new Error(`idempotency key ${scope} kept changing while it was claimed`);
  }
}

/** Entries that expire `maxAgeMs` after their last write, like a KV bucket's max age. */
class ExpiringEntries<T> {
  readonly #entries = new Map<string, { value: T; revision: number; writtenAt: number }>();
  #revision = 0;
  constructor(
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  get(key: string): { value: T; revision: number } | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || this.now() - entry.writtenAt >= this.maxAgeMs) return undefined;
    return structuredClone({ value: entry.value, revision: entry.revision });
  }

  put(key: string, value: T): number {
    this.#entries.set(key, { value: structuredClone(value), revision: ++this.#revision, writtenAt: this.now() });
    return this.#revision;
  }
}

/** The same contract in memory, for unit tests: the same TTL, retention and quota, on an injectable clock. */
export class InMemoryIdempotencyKeys implements IdempotencyKeys {
  readonly #keys: ExpiringEntries<IdempotencyRecord>;
  readonly #fingerprints: ExpiringEntries<IdempotencyRecord>;
  readonly #quotas: ExpiringEntries<KeyQuota>;
  readonly #limits: QuotaLimits;
  readonly #now: () => number;

  constructor({
    now = Date.now,
    ttlMs = IDEMPOTENCY_KEY_TTL_MS,
    retentionMs = IDEMPOTENCY_FINGERPRINT_RETENTION_MS,
    perCaller = IDEMPOTENCY_KEYS_PER_CALLER,
  }: IdempotencyKeysOptions & { ttlMs?: number; retentionMs?: number } = {}) {
    this.#now = now;
    this.#keys = new ExpiringEntries(ttlMs, now);
    this.#fingerprints = new ExpiringEntries(retentionMs, now);
    this.#quotas = new ExpiringEntries(retentionMs, now);
    this.#limits = { perCaller, horizonMs: retentionMs };
  }

  async claim(scope: string, record: IdempotencyRecord, caller: string): Promise<ClaimedKey> {
    let known = this.#fingerprints.get(scope)?.value;
    if (known === undefined) {
      const reservation = reserveKey(this.#quotas.get(caller)?.value ?? null, this.#now(), this.#limits);
      if (reservation.kind === 'exhausted') throw new IdempotencyKeyLimitError(this.#limits.perCaller, reservation.retryAfterMs);
      this.#quotas.put(caller, reservation.quota);
      this.#fingerprints.put(scope, fingerprintOnly(record));
      known = record;
    }
    if (known.fingerprint !== record.fingerprint) return { record: structuredClone(known), revision: 0 };
    const existing = this.#keys.get(scope);
    if (existing) return { record: existing.value, revision: existing.revision };
    return { record: structuredClone(record), revision: this.#keys.put(scope, record) };
  }

  async settle(scope: string, revision: number, record: IdempotencyRecord): Promise<void> {
    if (this.#keys.get(scope)?.revision !== revision) return;
    this.#keys.put(scope, record);
  }
}
