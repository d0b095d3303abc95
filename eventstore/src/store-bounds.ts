/**
 * The size bound of every JetStream store besides the event stream (pure). Each KV bucket has
 * `max_bytes` and discards new writes past it, so no bucket a client can grow takes the disk
 * the event stream needs. The event stream has none: it is the record, bounded by the server.
 */
import { DRIVER_LOCATIONS_BUCKET } from './driver-locations.ts';
import { IDEMPOTENCY_FINGERPRINT_RETENTION_MS, IDEMPOTENCY_FINGERPRINTS_BUCKET, IDEMPOTENCY_KEY_TTL_MS, IDEMPOTENCY_KEYS_BUCKET } from './idempotency-keys.ts';
import { LEASES_BUCKET } from './lease.ts';
import { TRIP_SLOTS_BUCKET } from './trip-slots.ts';

const MIB = 1024 * 1024;

export interface StoreBounds {
  /** max_bytes of each of the two idempotency buckets (keys with outcomes, fingerprints). */
  idempotencyMaxBytes: number;
  /** max_bytes of the driver-locations bucket (one entry per driver). */
  driverLocationsMaxBytes: number;
  /** max_bytes of the trip-slots bucket (one entry per passenger). */
  tripSlotsMaxBytes: number;
  /** max_bytes of the worker-leases bucket (a few entries per worker group). */
  leasesMaxBytes: number;
  /** How long a key's outcome is remembered. */
  idempotencyKeyTtlMs: number;
  /** How long a key's fingerprint (and its place in its caller's count) is remembered. */
  idempotencyRetentionMs: number;
}

export const DEFAULT_STORE_BOUNDS: StoreBounds = {
  idempotencyMaxBytes: 256 * MIB,
  driverLocationsMaxBytes: 64 * MIB,
  tripSlotsMaxBytes: 128 * MIB,
  leasesMaxBytes: 8 * MIB,
  idempotencyKeyTtlMs: IDEMPOTENCY_KEY_TTL_MS,
  idempotencyRetentionMs: IDEMPOTENCY_FINGERPRINT_RETENTION_MS,
};

/** Each bucket and its bound: what the bootstrap step sets and what bootstrap checks fit the account. */
export const bucketBounds = (bounds: StoreBounds): Record<string, number> => ({
  [DRIVER_LOCATIONS_BUCKET]: bounds.driverLocationsMaxBytes,
  [IDEMPOTENCY_KEYS_BUCKET]: bounds.idempotencyMaxBytes,
  [IDEMPOTENCY_FINGERPRINTS_BUCKET]: bounds.idempotencyMaxBytes,
  [TRIP_SLOTS_BUCKET]: bounds.tripSlotsMaxBytes,
  [LEASES_BUCKET]: bounds.leasesMaxBytes,
});

/**
 * When the account has a storage limit (`max_storage` > 0), the buckets' bounds must leave at
 * least half of it to the event stream; null when they do, else what is wrong. No limit: the
 * server's own (`max_file_store`) refuses bounds it cannot reserve when a bucket is created.
 */
export function accountRoomProblem(bounds: StoreBounds, accountMaxStorage: number): string | null {
  if (!(accountMaxStorage > 0)) return null;
  const reserved = Object.values(bucketBounds(bounds)).reduce((sum, bytes) => sum + bytes, 0);
  if (reserved <= accountMaxStorage / 2) return null;
  return `The KV buckets' bounds (${reserved} bytes in all) leave less than half of the account's JetStream storage (${accountMaxStorage} bytes) to the event stream: lower IDEMPOTENCY_KEYS_MAX_BYTES or raise the account's limit.`;
}
