import type { AggregateType } from '@happyride/domain';
import { consumeCommits, type Nats } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';
import type { Db } from 'mongodb';
import { applyToAggregateViews, type AggregateViewDocument, type AggregateViewProjection } from './aggregate-view.ts';

export interface ProjectorOptions {
  consumerName: string;
  signal: AbortSignal;
  maxBatch?: number;
}

/**
 * Keeps one projection up to date from its durable consumer until `signal` aborts. Creates the
 * projection's indexes first. Resolves once stopped.
 */
export async function runAggregateViewProjector<A extends AggregateType, D extends AggregateViewDocument>(
  nats: Nats,
  db: Db,
  projection: AggregateViewProjection<A, D>,
  logger: Logger,
  { consumerName, signal, maxBatch }: ProjectorOptions,
): Promise<void> {
  if (projection.indexes?.length) await db.collection(projection.collection).createIndexes(projection.indexes);
  const log = logger.child({ projection: projection.name, consumer: consumerName });
  log.info('projector started');
  await consumeCommits(
    nats.js,
    consumerName,
    async (batch) => {
      const applied = await applyToAggregateViews(db, projection, batch);
      for (const { commit } of batch) {
        log.debug(
          { correlationId: commit.events[0]?.correlationId, aggregateId: commit.aggregateId, version: commit.version },
          'commit projected',
        );
      }
      log.trace({ commits: batch.length, applied }, 'batch projected');
    },
    {
      signal,
      ...(maxBatch ? { maxBatch } : {}),
      onError: (error, batch) =>
        log.warn({ err: error, commits: batch.length, firstSequence: batch[0]?.streamSequence }, 'projection batch failed; retrying'),
    },
  );
  log.info('projector stopped');
}
