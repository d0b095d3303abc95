import type { AggregateType } from '@happyride/domain';
import {
  acceptsSubject,
  consumeCommits,
  deleteConsumer,
  listConsumerNames,
  whileLeaseHeld,
  type ConsumerDefinition,
  type DeadLetterPolicy,
  type Delivery,
  type LeaseState,
  type Nats,
  type Partition,
  WHOLE,
} from '@happyride/eventstore';
import {
  DEFAULT_GENERATION_POLL_MS,
  generationCollection,
  generationConsumer,
  logDeadLetters,
  readGeneration,
  sharedGenerationRead,
  recordConsumerSpans,
  readModels,
  type Logger,
  type ReadModelName,
} from '@happyride/platform';
import type { Db, IndexDescription } from 'mongodb';
import { applyToAggregateViews, type AggregateViewDocument, type AggregateViewProjection } from './aggregate-view.ts';
import { FencedOffError } from './guarded-writes.ts';
import type { PartitionShare } from './partition-share.ts';

export interface ProjectorOptions {
  /** The generation-0 durable consumer (the catalogue's); generation n reads `<name>-g<n>`. */
  consumerName: string;
  signal: AbortSignal;
  /** Most commits per batch at the head (default the consumer loop's, 500). */
  maxBatch?: number;
  /** Most commits per batch while far behind the head (default `PROJECTOR_CATCH_UP_BATCH`): see `catch-up-batches.ts`. */
  catchUpBatch?: number;
  /** After a batch is written, before it is acknowledged (e.g. to notify live subscribers). */
  onApplied?: (batch: readonly Delivery[], generation: number) => Promise<void>;
  /** Once prepared (indexes, initial documents) and consuming, the first time. */
  onStarted?: () => void;
  /** Park commits that keep failing (poison events) instead of retrying them forever. */
  deadLetters?: DeadLetterPolicy;
  /** Each time the projector starts on a generation (at start, then after each swap). */
  onGeneration?: (generation: number, consumerName: string) => void;
  /** How often the generation pointer is read (ms); default `DEFAULT_GENERATION_POLL_MS`. */
  generationPollMs?: number;
  /**
   * How long after starting on generation n the projector retires the older ones (deletes
   * their consumers, drops their collections): long enough for every reader to have followed
   * the pointer. Default 10 × `generationPollMs`, at least 5 s.
   */
  retireAfterMs?: number;
  /** The catalogue definition of the generation-0 consumer: a missing consumer is created from it (generation n: same subjects, its own name). */
  definition?: ConsumerDefinition;
  /**
   * One active projector per consumer across processes: apply only while holding this lease
   * (`whileLeaseHeld`, keyed by `consumerName`); a second instance stands by and takes over
   * when the active one dies or stops. Without it, the caller guarantees a single instance.
   */
  lease?: { holder: string; ttlMs: number };
  /**
   * The partition this runner projects (default: the whole log). `consumerName` is then the
   * partition's consumer (`partitionConsumer`); commits of other partitions are skipped.
   */
  partition?: Partition;
  /** The share of partitions this process may hold (with `lease`): gates taking the lease, and gives it up when over the share. */
  share?: PartitionShare;
  /** Kept up to date for readiness and metrics. */
  health?: ProjectorHealth;
}

/**
 * A projector far behind the head (a restart after downtime, a new partition, a taken-over
 * generation) takes up to this many commits per batch: each document is written once per
 * batch, however many of its commits the batch holds, so fewer, larger batches write less.
 * As many as the catalogue's consumers let be unacknowledged (`max_ack_pending`, 10,000; a
 * consumer allowing fewer caps it); back at the head, batches are small again.
 */
export const PROJECTOR_CATCH_UP_BATCH = 10_000;

/** What a running projector reports about itself (read by `/ready`). */
export interface ProjectorHealth {
  /** `active`: holds the lease (or runs without one) and applies; `standby`: waits for the lease. */
  state: LeaseState | 'starting';
  /** Since when (ms epoch) the current batch keeps failing; null while batches apply. */
  failingSince: number | null;
  /** Last stream sequence applied by this process. */
  position: number;
}

/** A projection as the runner sees it: set up once, then apply batches of deliveries. */
export interface BatchProjector {
  name: ReadModelName;
  /** Indexes and initial documents of a generation (and partition); idempotent, run before its first batch. */
  prepare?: (db: Db, generation: number, partition?: Partition) => Promise<void>;
  /**
   * Applies one batch to a generation (idempotently: a batch may be delivered again); returns
   * how many events changed something. With partitions, the batch holds the partition's
   * commits (and those of `everywhere`); the partition writes only its own documents. Every
   * write carries `token`, the fencing token of the lease held (0 without one), and is refused
   * by the store where a newer token wrote (`FencedOffError`: see `guarded-writes.ts`).
   */
  apply: (db: Db, batch: readonly Delivery[], generation: number, partition: Partition | undefined, token: number) => Promise<number>;
  /** Aggregate types every partition reads whole (the trip history's names); the others are split by aggregate id. */
  everywhere?: readonly AggregateType[];
}

/**
 * Keeps one projection up to date from its durable consumer until `signal` aborts, on the
 * generation its pointer names. Prepares the projection first, then logs `projector started`.
 * When the pointer moves (a rebuild swapped it), stops consuming the old generation's
 * consumer and goes on with the new one's, which the rebuild left exactly where its replay
 * stopped; a while later, retires the older generations. Resolves once stopped.
 */
export async function runProjector(
  nats: Nats,
  db: Db,
  projector: BatchProjector,
  logger: Logger,
  options: ProjectorOptions,
): Promise<void> {
  const { consumerName, signal, lease, onStarted, health, share, partition = WHOLE } = options;
  if (!lease) {
    if (health) health.state = 'active';
    await projectWhile(nats, db, projector, logger, options, signal, 0);
  } else {
    let started = false;
    const log = logger.child({ projection: projector.name, consumer: consumerName, holder: lease.holder });
    await whileLeaseHeld(
      nats.js,
      consumerName,
      {
        ...lease,
        signal,
        ...(share ? { slots: share } : {}),
        onState: (state, detail) => {
          if (health) health.state = state;
          log.info({ state }, detail);
          // A standby is started too: it does what it should (waits to take over).
          if (!started) {
            started = true;
            onStarted?.();
          }
        },
      },
      async (lost, token) => {
        // Given up when this process holds more than its share (another projector came up).
        const release = new AbortController();
        const unhold = share?.hold(partition.index, () => release.abort()) ?? (() => {});
        try {
          await projectWhile(nats, db, projector, logger, { ...options, onStarted: () => {} }, AbortSignal.any([lost, release.signal]), token);
        } finally {
          unhold();
        }
      },
    );
  }
  logger.child({ projection: projector.name }).info('projector stopped');
}

/**
 * The projector's work while `signal` lets it: follows the generation pointer, consumes, retires.
 * Writes with the fencing token `token`; fenced off (a newer lease holder wrote where it was
 * writing), it stops at once, leaves the batch unacknowledged and resolves, for the lease to be
 * given up and sought again.
 */
async function projectWhile(nats: Nats, db: Db, projector: BatchProjector, logger: Logger, options: ProjectorOptions, signal: AbortSignal, token: number): Promise<void> {
  const { consumerName, maxBatch, catchUpBatch = PROJECTOR_CATCH_UP_BATCH, onApplied, onStarted, onGeneration, generationPollMs = DEFAULT_GENERATION_POLL_MS, retireAfterMs, deadLetters, definition, health, partition = WHOLE } = options;
  const accept = partition.count > 1 ? { accept: acceptsSubject(partition, projector.everywhere) } : {};
  let started = false;
  const retireDelay = retireAfterMs ?? Math.max(5_000, 10 * generationPollMs);
  let fencedOff = false;
  while (!signal.aborted && !fencedOff) {
    const generation = await readGenerationPatiently(db, projector, logger, generationPollMs, signal);
    if (generation === null) break;
    const consumer = generationConsumer(consumerName, generation);
    await projector.prepare?.(db, generation, partition);
    const log = logger.child({ projection: projector.name, consumer, generation });
    log.info('projector started');
    onGeneration?.(generation, consumer);
    if (!started) {
      started = true;
      onStarted?.();
    }
    // This generation runs until the process stops or the pointer moves.
    const thisGeneration = new AbortController();
    const stopThis = () => thisGeneration.abort();
    signal.addEventListener('abort', stopThis, { once: true });
    // Stopped while starting (a partition given up to a projector that just came up, during the
    // awaits above): the listener came too late to hear it, and the consumer would run on forever.
    if (signal.aborted) stopThis();
    const watch = setInterval(() => {
      // One read of every pointer, shared with the process's other projectors (an idle timer).
      sharedGenerationRead(db, projector.name, generationPollMs * 0.9).then(
        (now) => {
          if (now !== generation) {
            log.info({ to: now }, 'generation pointer moved; switching');
            thisGeneration.abort();
          }
        },
        (error: unknown) => log.warn({ err: error }, 'could not read the generation pointer'),
      );
    }, generationPollMs);
    const retire = setTimeout(() => {
      retireOlderGenerations(nats, db, projector.name, consumerName, generation).then(
        (retired) => {
          if (retired.consumers.length + retired.collections.length > 0) log.info(retired, 'older generations retired');
        },
        (error: unknown) => log.warn({ err: error }, 'could not retire older generations; will try at the next start'),
      );
    }, retireDelay);
    try {
      await consumeCommits(
        nats.js,
        consumer,
        async (batch) => {
          const startedAt = new Date();
          let applied: number;
          try {
            applied = await projector.apply(db, batch, generation, partition, token);
          } catch (error) {
            if (error instanceof FencedOffError) {
              // Stopped before the batch is acknowledged: the consumer leaves it to the new holder.
              fencedOff = true;
              thisGeneration.abort();
              log.error({ err: error, token, firstSequence: batch[0]?.streamSequence, commits: batch.length }, 'fenced off: giving up the batch unacknowledged and the lease');
            }
            throw error;
          }
          await onApplied?.(batch, generation);
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
          signal: thisGeneration.signal,
          // Stream order, restarted at the checkpoint after any break: an aggregate's commits
          // are never applied out of order, so a version gap is never waited for.
          inOrder: true,
          ...accept,
          ...(definition ? { definition: { ...definition, name: consumer } } : {}),
          ...(maxBatch ? { maxBatch } : {}),
          catchUpBatch,
          ...(deadLetters ? { deadLetters: logDeadLetters(deadLetters, log) } : {}),
          onError: (error, batch) => {
            if (health && batch.length > 0) health.failingSince ??= Date.now();
            log.warn({ err: error, commits: batch.length, firstSequence: batch[0]?.streamSequence }, 'projection batch failed; retrying');
          },
          onStatus: (status) => log.warn(status, `consumer ${status.type}`),
          onProgress: (position) => {
            if (!health) return;
            health.failingSince = null;
            health.position = position;
          },
        },
      );
    } finally {
      clearInterval(watch);
      clearTimeout(retire);
      signal.removeEventListener('abort', stopThis);
    }
  }
}

/** The generation pointer, read again every `pollMs` while the database does not answer; null once stopped. */
async function readGenerationPatiently(db: Db, projector: BatchProjector, logger: Logger, pollMs: number, signal: AbortSignal): Promise<number | null> {
  while (!signal.aborted) {
    try {
      return await readGeneration(db, projector.name);
    } catch (error) {
      logger.warn({ err: error, projection: projector.name }, 'could not read the generation pointer; retrying');
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
  return null;
}

/**
 * Deletes the durable consumers and drops the collections of a projection's generations
 * older than `current`. Idempotent; only ever touches generations below the one served.
 */
export async function retireOlderGenerations(
  nats: Nats,
  db: Db,
  name: ReadModelName,
  baseConsumer: string,
  current: number,
): Promise<{ consumers: string[]; collections: string[] }> {
  const olderConsumers = new Set(Array.from({ length: current }, (_, g) => generationConsumer(baseConsumer, g)));
  const consumers = (await listConsumerNames(nats.jsm)).filter((consumer) => olderConsumers.has(consumer));
  for (const consumer of consumers) await deleteConsumer(nats.jsm, consumer);
  const olderCollections = new Set(readModels[name].flatMap((base) => Array.from({ length: current }, (_, g) => generationCollection(base, g))));
  const collections = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((c) => olderCollections.has(c));
  for (const collection of collections) await db.dropCollection(collection);
  return { consumers, collections };
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
  return runProjector(nats, db, aggregateViewProjector(projection), logger, options);
}

/** An aggregate-view projection as a `BatchProjector`. */
export function aggregateViewProjector<A extends AggregateType, D extends AggregateViewDocument>(projection: AggregateViewProjection<A, D>): BatchProjector {
  return {
    name: projection.name,
    prepare: async (db, generation) => {
      await createIndexesOneByOne(db, generationCollection(projection.collection, generation), projection.indexes ?? []);
    },
    apply: (db, batch, generation, _partition, token) => applyToAggregateViews(db, projection, batch, generation, token),
  };
}
