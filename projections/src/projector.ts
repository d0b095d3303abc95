import type { AggregateType } from '@happyride/domain';
import { consumeCommits, type DeadLetterPolicy, type Delivery, type Nats } from '@happyride/eventstore';
import { logDeadLetters, recordConsumerSpans, type Logger } from '@happyride/platform';
import type { Db, IndexDescription } from 'mongodb';
import { applyToAggregateViews, type AggregateViewDocument, type AggregateViewProjection } from './aggregate-view.ts';

export interface ProjectorOptions {
  consumerName: string;
  signal: AbortSignal;
  maxBatch?: number;
  /** After a batch is written, before it is acknowledged (e.g. to notify live subscribers). */
  onApplied?: (batch: readonly Delivery[]) => Promise<void>;
  /** Once prepared (indexes, initial documents) and consuming. */
  onStarted?: () => void;
  /** Park commits that keep failing (poison events) instead of retrying them forever. */
  deadLetters?: DeadLetterPolicy;
}

/** A projection as the runner sees it: set up once, then apply batches of deliveries. */
export interface BatchProjector {
  name: string;
  /** Indexes and initial documents; idempotent, run before the first batch. */
  prepare?: (db: Db) => Promise<void>;
  /** Applies one batch (idempotently: a batch may be delivered again); returns how many events changed something. */
  apply: (db: Db, batch: readonly Delivery[]) => Promise<number>;
}

/**
 * Keeps one projection up to date from its durable consumer until `signal` aborts. Prepares
 * the projection first, then logs `projector started`. Resolves once stopped.
 */
export async function runProjector(
  nats: Nats,
  db: Db,
  projector: BatchProjector,
  logger: Logger,
  { consumerName, signal, maxBatch, onApplied, onStarted, deadLetters }: ProjectorOptions,
): Promise<void> {
  await projector.prepare?.(db);
  const log = logger.child({ projection: projector.name, consumer: consumerName });
  log.info('projector started');
  onStarted?.();
  await consumeCommits(
    nats.js,
    consumerName,
    async (batch) => {
      const startedAt = new Date();
      const applied = await projector.apply(db, batch);
      await onApplied?.(batch);
      for (const { commit, traceparent } of batch) {
        log.debug(
          { correlationId: commit.events[0]?.correlationId, aggregateId: commit.aggregateId, version: commit.version, traceparent },
          'commit projected',
        );
      }
      log.trace({ commits: batch.length, applied }, 'batch projected');
      recordConsumerSpans(`project ${projector.name}`, batch, startedAt);
    },
    {
      signal,
      ...(maxBatch ? { maxBatch } : {}),
      ...(deadLetters ? { deadLetters: logDeadLetters(deadLetters, log) } : {}),
      onError: (error, batch) =>
        log.warn({ err: error, commits: batch.length, firstSequence: batch[0]?.streamSequence }, 'projection batch failed; retrying'),
    },
  );
  log.info('projector stopped');
}

/**
 * `createIndexes`, one index per call: FerretDB v1.24 drops the connection when one call names
 * several indexes of which some exist already (a projector's second start).
 */
export async function createIndexesOneByOne(db: Db, collection: string, indexes: readonly IndexDescription[]): Promise<void> {
  for (const index of indexes) await db.collection(collection).createIndexes([index]);
}

/** `runProjector` for a projection whose documents follow one aggregate each. */
export function runAggregateViewProjector<A extends AggregateType, D extends AggregateViewDocument>(
  nats: Nats,
  db: Db,
  projection: AggregateViewProjection<A, D>,
  logger: Logger,
  options: ProjectorOptions,
): Promise<void> {
  const projector: BatchProjector = {
    name: projection.name,
    prepare: async (db) => {
      await createIndexesOneByOne(db, projection.collection, projection.indexes ?? []);
    },
    apply: (db, batch) => applyToAggregateViews(db, projection, batch),
  };
  return runProjector(nats, db, projector, logger, options);
}
