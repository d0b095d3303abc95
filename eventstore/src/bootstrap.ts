import { consumerDefinitions, filterSubjects, type ConsumerDefinition } from './consumers.ts';
import { ensureDriverLocationsBucket } from './driver-locations.ts';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager } from './nats.ts';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX } from './streams.ts';

const NANOS_PER_MS = 1_000_000;
/** How long JetStream remembers a command id to drop a retried append. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
export const ACK_WAIT_MS = 30_000;

/**
 * Creates or updates the event stream and every durable consumer in the catalogue, and creates
 * the driver-locations KV bucket if it is missing.
 * Idempotent: run it before the workers start (the start script and tests do).
 */
export async function bootstrapEventLog(
  jsm: JetStreamManager,
  consumers: readonly ConsumerDefinition[] = Object.values(consumerDefinitions),
): Promise<void> {
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
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(stream);
  }
  for (const consumer of consumers) await ensureConsumer(jsm, consumer);
  await ensureDriverLocationsBucket(jsm);
}

export async function ensureConsumer(jsm: JetStreamManager, definition: ConsumerDefinition): Promise<void> {
  const config = {
    durable_name: definition.name,
    description: definition.description,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: definition.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subjects: filterSubjects(definition),
    ack_wait: ACK_WAIT_MS * NANOS_PER_MS,
    max_ack_pending: 10_000,
  };
  try {
    await jsm.consumers.info(EVENTS_STREAM, definition.name);
    await jsm.consumers.update(EVENTS_STREAM, definition.name, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(EVENTS_STREAM, config);
  }
}
