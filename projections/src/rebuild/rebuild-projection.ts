import {
  acceptsCommit,
  consumerDefinitions,
  createConsumerFrom,
  deleteConsumer,
  EVENTS_STREAM,
  filterSubjects,
  partitionConsumer,
  partitionsOf,
  replayCommits,
  type ConsumerDefinition,
  type Nats,
} from '@happyride/eventstore';
import {
  generationCollection,
  generationConsumer,
  readGeneration,
  readModelNames,
  readModels,
  swapGeneration,
  isReadModelName,
  MAJORITY_WRITES,
  DUPLICATE_KEY,
  type ReadModelName,
} from '@happyride/platform';
import type { Db } from 'mongodb';
import { driversProjection } from '../drivers/driver-view.ts';
import { passengersProjection } from '../passengers/passenger-view.ts';
import { aggregateViewProjector, PROJECTOR_CATCH_UP_BATCH, type BatchProjector } from '../projector.ts';
import { tripHistoryProjector } from '../trips/trip-history-projector.ts';
import type { ProgressSample, RebuildPhase } from './progress.ts';

/** Every projection that can be rebuilt, with its projector and its (generation-0) consumer. */
export const rebuildableProjections: Record<ReadModelName, { projector: BatchProjector; consumer: ConsumerDefinition }> = {
  passengers: { projector: aggregateViewProjector(passengersProjection), consumer: consumerDefinitions.passengersProjection },
  drivers: { projector: aggregateViewProjector(driversProjection), consumer: consumerDefinitions.driversProjection },
  'trip-history': { projector: tripHistoryProjector, consumer: consumerDefinitions.tripHistoryProjection },
};

export class RebuildError extends Error {
  override readonly name = 'RebuildError';
}

/** The projection a command-line name means; a clear error listing the valid ones otherwise. */
export function projectionNamed(name: string | undefined): ReadModelName {
  if (name !== undefined && isReadModelName(name)) return name;
  const valid = readModelNames.join(', ');
  throw new RebuildError(name === undefined ? `Which projection? One of: ${valid}.` : `Unknown projection ${JSON.stringify(name)}; one of: ${valid}.`);
}

/** Where a running rebuild holds its lock: `{ _id: <projection> }`, inserted (unique key), deleted when done. */
export const REBUILDS_COLLECTION = 'read_model_rebuilds';

export interface RebuildOptions {
  /** Most commits applied per batch near the end of the replay; far from it, up to `catchUpBatch` (default `PROJECTOR_CATCH_UP_BATCH`). */
  maxBatch?: number;
  catchUpBatch?: number;
  onProgress?: (sample: ProgressSample) => void;
  /** Take over the lock of a rebuild that crashed (the lock document stayed). */
  force?: boolean;
  /** How long to wait for the running projector to take the new generation over. */
  takeoverTimeoutMs?: number;
  /** Into how many partitions the projectors split the projection (`PROJECTION_PARTITIONS`; default 1): the new generation is written the same way, with one consumer per partition. */
  partitions?: number;
  /** Another (generation-0) consumer definition than the catalogue's: tests. */
  consumer?: ConsumerDefinition;
  signal?: AbortSignal;
  now?: () => number;
}

export interface RebuildResult {
  projection: ReadModelName;
  from: number;
  to: number;
  /** Events the rebuild applied itself. */
  events: number;
  /** The stream sequence of the last event the rebuild applied; the new consumer starts after it. */
  lastSequence: number;
  /** Whether a running projector took the new generation over and caught up. */
  takenOver: boolean;
  elapsedMs: number;
}

/**
 * Rebuilds a projection into a new generation while the current one keeps serving:
 *
 * 1. takes the projection's rebuild lock (a unique-key insert), reads the served generation n;
 * 2. clears what a crashed earlier attempt may have left of generation n+1, prepares it;
 * 3. replays the stream from its start into generation n+1 (an ordered, ephemeral consumer,
 *    the projector's own `apply`) up to the stream's head as it was at start, then catches up
 *    with what was appended meanwhile while that gains, until at most one batch is pending;
 * 4. creates generation n+1's durable consumer starting right after the last event applied;
 * 5. swaps the pointer to n+1: one single-document write, so readers see n or n+1, never a mix;
 * 6. waits until the running projector (which polls the pointer) has taken n+1 over and
 *    caught up; it retires generation n a grace period later.
 *
 * A crash before 5 leaves generation n served and untouched: run the command again. Only one
 * process ever reads a given durable consumer at a time, so events are applied in order.
 */
export async function rebuildProjection(nats: Nats, db: Db, projection: ReadModelName, options: RebuildOptions = {}): Promise<RebuildResult> {
  const { maxBatch = 500, catchUpBatch = PROJECTOR_CATCH_UP_BATCH, onProgress, force = false, takeoverTimeoutMs = 30_000, signal, now = Date.now, partitions = 1 } = options;
  const { projector, consumer: catalogued } = rebuildableProjections[projection];
  const definition = options.consumer ?? catalogued;
  const started = now();
  await lock(db, projection, force);
  try {
    const from = await readGeneration(db, projection);
    const to = from + 1;
    const progress = (phase: RebuildPhase, done: number, total: number) =>
      onProgress?.({ projection, generation: to, phase, done, total, elapsedMs: now() - started });

    // Each partition as its projector would write it: its own commits (and `everywhere`'s), its own state.
    const parts = partitionsOf(partitions).map((partition) => ({
      partition,
      consumer: generationConsumer(partitionConsumer(definition.name, partition), to),
      accepts: acceptsCommit(partition, projector.everywhere),
    }));
    for (const { consumer } of parts) await deleteConsumer(nats.jsm, consumer);
    for (const base of readModels[projection]) await db.collection(generationCollection(base, to)).drop().catch(() => false);
    for (const { partition } of parts) await projector.prepare?.(db, to, partition);

    const head = (await nats.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
    let done = 0;
    const lastSequence = await replayCommits(
      nats.js,
      filterSubjects(definition),
      async (batch, pending) => {
        // Fencing token 0: no lease, a generation nobody else writes yet; the projectors' tokens are all above it.
        if (partitions === 1) await projector.apply(db, batch, to, undefined, 0);
        else for (const { partition, accepts } of parts) await projector.apply(db, batch.filter(({ commit }) => accepts(commit)), to, partition, 0);
        done += batch.length;
        progress(batch.at(-1)!.streamSequence < head ? 'replaying' : 'catching up', done, done + pending);
      },
      { maxBatch, catchUpBatch, enough: catchUpEnough(head, maxBatch), ...(signal ? { signal } : {}) },
    );
    if (signal?.aborted) throw new RebuildError(`Rebuild of ${projection} stopped; generation ${from} is still served.`);

    for (const { consumer } of parts) {
      await createConsumerFrom(nats.jsm, { ...definition, description: `${definition.description} (generation ${to})` }, consumer, lastSequence + 1);
    }
    await swapGeneration(db, projection, to);
    const headAtSwap = (await nats.jsm.streams.info(EVENTS_STREAM)).state.last_seq;

    let takenOver = true;
    for (const { consumer } of parts) {
      takenOver &&= await waitForTakeover(nats, consumer, headAtSwap, takeoverTimeoutMs, (pending) => progress('waiting for the projector', done, done + pending), signal);
    }
    return { projection, from, to, events: done, lastSequence, takenOver, elapsedMs: now() - started };
  } finally {
    await db.collection<{ _id: string }>(REBUILDS_COLLECTION).deleteOne({ _id: projection });
  }
}

/**
 * When the replay may stop: past the stream's head as it was at start, once what is left fits
 * in one batch, or as soon as catching up stops gaining (appends outpace the replay). The
 * rest is the projector's, from the exact next sequence: chasing a busy stream to nothing
 * pending could take forever.
 */
export function catchUpEnough(head: number, maxBatch: number): (last: number, pending: number) => boolean {
  let before = Number.POSITIVE_INFINITY;
  return (last, pending) => {
    if (last < head) return false;
    const enough = pending <= maxBatch || pending >= before;
    before = pending;
    return enough;
  };
}

async function lock(db: Db, projection: ReadModelName, force: boolean): Promise<void> {
  const locks = db.collection<{ _id: string; startedAt: string }>(REBUILDS_COLLECTION, MAJORITY_WRITES);
  if (force) await locks.deleteOne({ _id: projection });
  try {
    await locks.insertOne({ _id: projection, startedAt: new Date().toISOString() });
  } catch (error) {
    if ((error as { code?: number }).code !== DUPLICATE_KEY) throw error;
    throw new RebuildError(
      `A rebuild of ${projection} is already running (lock in ${REBUILDS_COLLECTION}). If it crashed, run again with --force.`,
    );
  }
}

/**
 * Waits until someone reads the new consumer (the projector switched to it) and has applied
 * everything up to the stream's head at the swap (or has nothing pending); false on timeout.
 */
async function waitForTakeover(
  nats: Nats,
  consumer: string,
  headAtSwap: number,
  timeoutMs: number,
  onPending: (pending: number) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let reading = false;
  while (!signal?.aborted && Date.now() < deadline) {
    // A projector taking over may recreate the consumer in place (in order from its checkpoint): a moment without it.
    const info = await nats.jsm.consumers.info(EVENTS_STREAM, consumer).catch((error: unknown) => {
      if (error instanceof Error && /consumer not found/i.test(error.message)) return null;
      throw error;
    });
    if (info === null) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    reading ||= info.num_waiting > 0 || info.delivered.consumer_seq > 0;
    onPending(info.num_pending + info.num_ack_pending);
    const idle = info.num_pending === 0 && info.num_ack_pending === 0;
    if (reading && (idle || info.ack_floor.stream_seq >= headAtSwap)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
