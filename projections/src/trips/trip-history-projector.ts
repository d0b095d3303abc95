import { partitionOf, WHOLE, type Delivery, type Partition } from '@happyride/eventstore';
import { generationCollection } from '@happyride/platform';
import type { Db, Document, IndexDescription } from 'mongodb';
import { findInChunks } from '../find-in-chunks.ts';
import { serverKindOf, writeAll } from '../guarded-writes.ts';
import { createIndexesOneByOne, type BatchProjector } from '../projector.ts';
import { isEmptyKeys, mergeById, planTripHistoryBatch, tripHistoryFilters, tripHistoryKeys, wholeScope, type KeyedDocument, type TripHistoryKeys, type TripHistoryState } from './trip-history-plan.ts';
import {
  DRIVER_NAMES,
  emptyTripStats,
  PASSENGER_NAMES,
  PAYMENTS,
  TRIP_STATS,
  TRIPS,
  type NameLookupDocument,
  type PaymentLookupDocument,
  type TripHistoryDocument,
  type TripHistoryScope,
  type TripStatsDocument,
} from './trip-history.ts';

/** What one partition of the trip history owns and where it keeps its own state (see `TripHistoryScope`). */
export function tripHistoryScope(partition: Partition = WHOLE): TripHistoryScope {
  if (partition.count === 1) return wholeScope;
  const suffix = `p${partition.index}of${partition.count}`;
  return { statsId: suffix, lookupId: (id) => `${id}@${suffix}`, owns: (tripId) => partitionOf(tripId, partition.count) === partition.index };
}

/** The pages the trip queries read: a person's trips, trips by state, all trips; newest first. */
export const tripIndexes: IndexDescription[] = [
  { key: { passengerId: 1, createdAt: -1, _id: -1 } },
  { key: { driverId: 1, createdAt: -1, _id: -1 } },
  { key: { state: 1, createdAt: -1, _id: -1 } },
  { key: { createdAt: -1, _id: -1 } },
];

/** Creates the `trips` indexes and the zeroed statistics document of a generation; idempotent. */
export async function prepareTripHistory(db: Db, generation = 0, partition: Partition = WHOLE): Promise<void> {
  await createIndexesOneByOne(db, generationCollection(TRIPS, generation), tripIndexes);
  const { _id: _all, ...zeros } = emptyTripStats();
  const _id = tripHistoryScope(partition).statsId;
  await db.collection<TripStatsDocument>(generationCollection(TRIP_STATS, generation)).updateOne({ _id }, { $setOnInsert: zeros }, { upsert: true });
}

/** Reads what a batch needs: one `find` per collection (up to three for trips: see `tripHistoryFilters`; each in chunks of `IN_CHUNK` ids), in parallel. */
export async function loadTripHistoryState(db: Db, keys: TripHistoryKeys, generation = 0, scope: TripHistoryScope = wholeScope): Promise<TripHistoryState> {
  const filters = tripHistoryFilters({ ...keys, passengerIds: keys.passengerIds.map(scope.lookupId), driverIds: keys.driverIds.map(scope.lookupId) });
  const find = async <T extends KeyedDocument>(collection: string, filter: Document | null): Promise<T[]> =>
    filter === null ? [] : ((await findInChunks(db.collection(generationCollection(collection, generation)), filter)) as unknown as T[]);
  const [trips, tripsOfRenamed, passengerNames, driverNames, payments, stats] = await Promise.all([
    find<TripHistoryDocument>(TRIPS, filters.trips),
    Promise.all(filters.tripsOfRenamed.map((filter) => find<TripHistoryDocument>(TRIPS, filter))),
    find<NameLookupDocument>(PASSENGER_NAMES, filters.passengerNames),
    find<NameLookupDocument>(DRIVER_NAMES, filters.driverNames),
    find<PaymentLookupDocument>(PAYMENTS, filters.payments),
    db.collection<TripStatsDocument>(generationCollection(TRIP_STATS, generation)).findOne({ _id: scope.statsId }),
  ]);
  if (stats === null) throw new Error(`trip-history: ${TRIP_STATS} has no '${scope.statsId}' document; run prepareTripHistory first.`);
  // A renamed person's trips in other partitions are theirs to rename.
  const owned = tripsOfRenamed.map((found) => found.filter((trip) => scope.owns(trip._id)));
  const personIds = (lookups: NameLookupDocument[], ids: string[]) => {
    const byLookup = new Map(ids.map((id) => [scope.lookupId(id), id]));
    return lookups.map((lookup) => ({ ...lookup, _id: byLookup.get(lookup._id) ?? lookup._id }));
  };
  return {
    trips: mergeById(trips, ...owned),
    passengerNames: personIds(passengerNames, keys.passengerIds),
    driverNames: personIds(driverNames, keys.driverIds),
    payments,
    stats,
  };
}

export interface ApplyHooks {
  /** Called after each stage (`load`, `plan`, then each written collection) with its duration and, for a write, how many documents it wrote. */
  afterStep?: (step: string, ms: number, writes?: number) => void | Promise<void>;
  /** Which generation of the collections to read and write (default 0: the base names). */
  generation?: number;
  /** The partition the batch is of (default: the whole log). */
  partition?: Partition;
  /** The fencing token of the lease the projector holds (default 0: no lease); see `guarded-writes.ts`. */
  token?: number;
}

/**
 * Applies a batch of deliveries to the trip history: one `find` per collection, the pure plan,
 * then one `bulkWrite` per collection, in this order, each after the previous one completed:
 *
 * 1. `trip_stats`, conditional on `position < last sequence of the batch`;
 * 2. `trips` (documents conditional on their version, then the renames' and payments' `updateOne`s);
 * 3. the name lookups, then the payment lookups.
 *
 * Why this order survives a crash anywhere without transactions (the batch is then delivered
 * again, whole or cut differently, in stream order):
 * - after 1, before 2: the statistics already count the batch; the redelivery finds
 *   `position` at or past its sequences, so it counts nothing again, while the trips, still at
 *   their old versions, are applied by version;
 * - after 2, before 3: the trips are applied and counted; the redelivery skips them by
 *   version, while the lookups, still at their old versions, raise again and plan the renames
 *   again (an update guarded by `$lt` is idempotent);
 * - a name is thus never lost: a lookup is written only after the trips were renamed; the
 *   same goes for a payment status (its lookup is written after the trip's update).
 *
 * Every write but the statistics' targets one document by `_id`; every write, the statistics'
 * too, is fenced with the lease's token and must change its document (see `guarded-writes.ts`).
 * The statistics must come first: written after the trips, a crash between the two would
 * leave transitions that the redelivery skips by version and never counts.
 *
 * @returns how many trip events were applied.
 */
export async function applyTripHistoryBatch(db: Db, batch: readonly Delivery[], { afterStep, generation = 0, partition = WHOLE, token = 0 }: ApplyHooks = {}): Promise<number> {
  const scope = tripHistoryScope(partition);
  const keys = tripHistoryKeys(batch);
  if (isEmptyKeys(keys)) return 0;
  let t0 = performance.now();
  const lap = async (step: string, writes?: number) => {
    const t1 = performance.now();
    await afterStep?.(step, t1 - t0, writes);
    t0 = performance.now();
  };
  const state = await loadTripHistoryState(db, keys, generation, scope);
  await lap('load');
  const plan = planTripHistoryBatch(state, batch, scope);
  await lap('plan');
  const server = await serverKindOf(db);
  for (const { collection, ops } of plan.steps) {
    const target = db.collection<KeyedDocument>(generationCollection(collection, generation));
    // The statistics' guard is on `position`: refused, the batch is planned again (or, fenced off, given up).
    await writeAll(target, ops, { server, token });
    await lap(collection, ops.length);
  }
  return plan.applied;
}

export const tripHistoryProjector: BatchProjector = {
  name: 'trip-history',
  prepare: prepareTripHistory,
  apply: (db, batch, generation, partition, token) => applyTripHistoryBatch(db, batch, { generation, ...(partition ? { partition } : {}), ...(token ? { token } : {}) }),
  // Every partition reads every name event: its trips take names from its own lookups.
  everywhere: ['passenger', 'driver'],
};
