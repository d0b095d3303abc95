import type { TripSlot } from '@happyride/domain';
import type { KV } from '@nats-io/kv';
import { openBootstrappedBucket } from './idempotency-keys.ts';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from './nats.ts';
import { ensureBucket, type ReplicaOptions } from './replicas.ts';

/** The JetStream KV bucket of passengers' trip slots (`domain/src/trip/active-trip.ts`), keyed by passenger id. */
export const TRIP_SLOTS_BUCKET = 'trip-slots';

export interface StoredSlot {
  slot: TripSlot;
  revision: number;
}

/** Compare-and-set storage of each passenger's trip slot: of two racing writers, one wins. */
export interface TripSlots {
  get(passengerId: string): Promise<StoredSlot | null>;
  /** Writes `slot` if the key is still at `revision` (0: absent); false when another writer came first. */
  swap(passengerId: string, slot: TripSlot, revision: number): Promise<boolean>;
}

/** Creates the bucket if it is missing (history 1, no expiry). Called by the bootstrap step. */
export async function ensureTripSlotsBucket(jsm: JetStreamManager, { maxBytes, replicas }: ReplicaOptions & { maxBytes: number }): Promise<void> {
  await ensureBucket(jsm, TRIP_SLOTS_BUCKET, { history: 1, max_bytes: maxBytes }, { replicas });
}

export class KvTripSlots implements TripSlots {
  private constructor(private readonly kv: KV) {}

  static async open(js: JetStreamClient): Promise<KvTripSlots> {
    return new KvTripSlots(await openBootstrappedBucket(js, TRIP_SLOTS_BUCKET));
  }

  async get(passengerId: string): Promise<StoredSlot | null> {
    const entry = await this.kv.get(passengerId);
    return entry?.operation === 'PUT' ? { slot: entry.json<TripSlot>(), revision: entry.revision } : null;
  }

  async swap(passengerId: string, slot: TripSlot, revision: number): Promise<boolean> {
    try {
      if (revision === 0) await this.kv.create(passengerId, JSON.stringify(slot));
      else await this.kv.update(passengerId, JSON.stringify(slot), revision);
      return true;
    } catch (error) {
      if (error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)) {
        return false;
      }
      throw error;
    }
  }
}

/** The same contract in memory, for unit tests. */
export class InMemoryTripSlots implements TripSlots {
  readonly #slots = new Map<string, StoredSlot>();
  #revision = 0;

  async get(passengerId: string): Promise<StoredSlot | null> {
    const stored = this.#slots.get(passengerId);
    return stored ? structuredClone(stored) : null;
  }

  async swap(passengerId: string, slot: TripSlot, revision: number): Promise<boolean> {
    if ((this.#slots.get(passengerId)?.revision ?? 0) !== revision) return false;
    this.#slots.set(passengerId, { slot: { ...slot }, revision: ++this.#revision });
    return true;
  }
}
