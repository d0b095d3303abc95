import { consumerDefinitions, filterSubjects, type ConsumerDefinition } from './consumers.ts';
import { ensureDriverLocationsBucket } from './driver-locations.ts';
import { ensureIdempotencyKeysBucket } from './idempotency-keys.ts';
import { ensureLeasesBucket } from './lease.ts';
import { ensureTripSlotsBucket } from './trip-slots.ts';
import { ensureStreamReplicas, replicasError, type ReplicaOptions } from './replicas.ts';
import { accountRoomProblem, DEFAULT_STORE_BOUNDS, type StoreBounds } from './store-bounds.ts';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager } from './nats.ts';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX } from './streams.ts';

const NANOS_PER_MS = 1_000_000;
/** How long JetStream remembers a command id to drop a retried append. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
export const ACK_WAIT_MS = 30_000;

/**
 * Creates or updates the event stream and every durable consumer in the catalogue, and creates
 * the KV buckets (driver-locations, idempotency-keys, idempotency-fingerprints, trip-slots, worker-leases) that are missing.
 * The stream and every bucket get `replicas` copies (`EVENT_STREAM_REPLICAS`: 3 on a cluster;
 * an existing one with another count is updated to it; none: 1 for what is created, existing
 * counts kept); consumers inherit the stream's. Every bucket gets its size bound and max age
 * from `bounds` (`store-bounds.ts`; existing ones are brought to them); the event stream has
 * none, and an account storage limit that the buckets' bounds would crowd is refused here.
 * Idempotent: run it before the workers start (the start script and tests do).
 */
export async function bootstrapEventLog(
  jsm: JetStreamManager,
  consumers: readonly ConsumerDefinition[] = Object.values(consumerDefinitions),
  { replicas, bounds: given = {} }: ReplicaOptions & { bounds?: Partial<StoreBounds> } = {},
): Promise<void> {
  const bounds = { ...DEFAULT_STORE_BOUNDS, ...given };
  const crowded = accountRoomProblem(bounds, (await jsm.getAccountInfo()).limits.max_storage);
  if (crowded !== null) throw new Error(crowded);
  const stream = {
    name: EVENTS_STREAM,
    subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    allow_direct: true,
    duplicate_window: DUPLICATE_WINDOW_MS * NANOS_PER_MS,
  };
  try {
    await jsm.streams.info(EVENTS_STREAM);
    await jsm.streams.update(EVENTS_STREAM, stream);
    if (replicas !== undefined) await ensureStreamReplicas(jsm, EVENTS_STREAM, replicas);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add({ ...stream, num_replicas: replicas ?? 1 }).catch((refused: unknown) => {
      throw replicasError(`the stream ${EVENTS_STREAM}`, replicas ?? 1, refused);
    });
  }
  for (const consumer of consumers) await ensureConsumer(jsm, consumer);
  await ensureDriverLocationsBucket(jsm, { replicas, maxBytes: bounds.driverLocationsMaxBytes });
  await ensureIdempotencyKeysBucket(jsm, {
    replicas,
    maxBytes: bounds.idempotencyMaxBytes,
    ttlMs: bounds.idempotencyKeyTtlMs,
    retentionMs: bounds.idempotencyRetentionMs,
  });
  await ensureTripSlotsBucket(jsm, { replicas, maxBytes: bounds.tripSlotsMaxBytes });
  await ensureLeasesBucket(jsm, { replicas, maxBytes: bounds.leasesMaxBytes });
}

const consumerConfig = (definition: ConsumerDefinition) => ({
  durable_name: definition.name,
  description: definition.description,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: definition.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
  filter_subjects: filterSubjects(definition),
  ack_wait: ACK_WAIT_MS * NANOS_PER_MS,
  max_ack_pending: 10_000,
});

export async function ensureConsumer(jsm: JetStreamManager, definition: ConsumerDefinition): Promise<void> {
  const config = consumerConfig(definition);
  try {
    await jsm.consumers.info(EVENTS_STREAM, definition.name);
    // Where it starts is not updatable (a projector may have restarted it at its checkpoint:
    // see `consumeCommits`' `inOrder`): everything else is.
    const { deliver_policy: _policy, ...updatable } = config;
    await jsm.consumers.update(EVENTS_STREAM, definition.name, updatable);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(EVENTS_STREAM, config);
  }
}

/**
 * Creates a durable consumer like `definition` (same subjects and settings) under `name`,
 * delivering from stream sequence `startSequence` on: how a rebuilt projection's new
 * generation continues exactly after the last event its rebuild applied. Replaces any
 * consumer of that name.
 */
export async function createConsumerFrom(jsm: JetStreamManager, definition: ConsumerDefinition, name: string, startSequence: number): Promise<void> {
  await deleteConsumer(jsm, name);
  await jsm.consumers.add(EVENTS_STREAM, {
    ...consumerConfig({ ...definition, name }),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: Math.max(1, startSequence),
  });
}

/** Deletes a durable consumer; false if there was none. */
export async function deleteConsumer(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    return await jsm.consumers.delete(EVENTS_STREAM, name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return false;
    throw error;
  }
}

/** The names of the durable consumers of the event stream. */
export async function listConsumerNames(jsm: JetStreamManager): Promise<string[]> {
  const names: string[] = [];
  for await (const info of jsm.consumers.list(EVENTS_STREAM)) names.push(info.name);
  return names;
}
