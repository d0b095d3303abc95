/**
 * Test support for the trip history: envelope and delivery builders, and an in-memory
 * interpreter of exactly the reads and writes the runner sends to MongoDB (filters with
 * equality, `$lt`, `$in`, `$or`; `insertOne`, `replaceOne`, `updateOne`, `updateMany` with
 * `$set` and `$inc`), so the pure planner can be driven through crashes and redeliveries.
 */
import type { AggregateType, EventsByAggregate } from '@happyride/domain';
import type { Commit, Delivery, EventEnvelope } from '@happyride/eventstore';
import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { isEmptyKeys, mergeById, planTripHistoryBatch, tripHistoryFilters, tripHistoryKeys, type KeyedDocument, type TripHistoryState } from './trip-history-plan.ts';
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
  type TripStatsDocument,
} from './trip-history.ts';

export function envelope<A extends AggregateType>(
  aggregateType: A,
  aggregateId: string,
  version: number,
  event: EventsByAggregate[A],
  occurredAt = `2026-01-01T00:00:${String(version).padStart(2, '0')}.000Z`,
): EventEnvelope<A> {
  return {
    ...event,
    eventId: `${aggregateId}:${version}`,
    aggregateType,
    aggregateId,
    version,
    occurredAt,
    commandId: `${aggregateId}:${version}`,
    correlationId: 'test',
    causationId: `${aggregateId}:${version}`,
    schemaVersion: 1,
  } as EventEnvelope<A>;
}

export const commitOf = <A extends AggregateType>(events: EventEnvelope<A>[]): Commit<A> => ({
  commandId: events[0]!.commandId,
  aggregateType: events[0]!.aggregateType as A,
  aggregateId: events[0]!.aggregateId,
  version: events[events.length - 1]!.version,
  events,
});

/** Deliveries numbered 1, 2, … in the order given, one event per commit. */
export const deliveriesOf = (events: EventEnvelope[], firstSequence = 1): Delivery[] =>
  events.map((event, i) => ({ commit: commitOf([event]), streamSequence: firstSequence + i, deliveryCount: 1 }));

export class CrashError extends Error {
  override readonly name = 'CrashError';
}

type Filter = Record<string, unknown>;

const isOperatorObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).some((key) => key.startsWith('$'));

function getPath(doc: Document, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], doc);
}

function setPath(doc: Document, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = doc as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
  target[keys[keys.length - 1]!] = value;
}

export function matches(doc: Document, filter: Filter): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    if (key === '$or') return (condition as Filter[]).some((branch) => matches(doc, branch));
    const value = getPath(doc, key);
    if (!isOperatorObject(condition)) return value === condition || (condition === null && value === undefined);
    return Object.entries(condition).every(([op, operand]) => {
      if (op === '$lt') return typeof value === 'number' && value < (operand as number);
      if (op === '$in') return (operand as unknown[]).includes(value);
      throw new Error(`in-memory store: unsupported operator ${op}`);
    });
  });
}

function applyUpdate(doc: Document, update: Document): void {
  for (const [op, fields] of Object.entries(update)) {
    for (const [path, value] of Object.entries(fields as Document)) {
      if (op === '$set') setPath(doc, path, structuredClone(value));
      else if (op === '$inc') setPath(doc, path, ((getPath(doc, path) as number | undefined) ?? 0) + (value as number));
      else throw new Error(`in-memory store: unsupported update ${op}`);
    }
  }
}

/** A few collections of documents keyed by string `_id`, with MongoDB's semantics for what we use. */
export class InMemoryStore {
  readonly collections = new Map<string, Map<string, Document>>();
  /** Write operations left before a simulated crash (`Infinity`: never). */
  crashBudget = Infinity;

  private collection(name: string): Map<string, Document> {
    let collection = this.collections.get(name);
    if (!collection) this.collections.set(name, (collection = new Map()));
    return collection;
  }

  find(name: string, filter: Filter): Document[] {
    return [...this.collection(name).values()].filter((doc) => matches(doc, filter)).map((doc) => structuredClone(doc));
  }

  all<T>(name: string): T[] {
    return [...this.collection(name).values()].map((doc) => structuredClone(doc) as T).sort((a, b) =>
      String((a as Document)['_id']).localeCompare(String((b as Document)['_id'])),
    );
  }

  /** Applies `ops` one by one; a crash may stop it after any of them. Returns the matched count. */
  bulkWrite(name: string, ops: readonly AnyBulkWriteOperation<KeyedDocument>[]): { matchedCount: number } {
    const collection = this.collection(name);
    let matchedCount = 0;
    for (const op of ops) {
      if (this.crashBudget-- <= 0) throw new CrashError(`crashed before a write on ${name}`);
      if ('insertOne' in op) {
        const doc = structuredClone(op.insertOne.document) as KeyedDocument;
        if (collection.has(doc._id)) throw new Error(`E11000 duplicate key ${name} ${doc._id}`);
        collection.set(doc._id, doc);
      } else if ('replaceOne' in op) {
        const found = [...collection.values()].find((doc) => matches(doc, op.replaceOne.filter as Filter));
        if (found) {
          matchedCount++;
          collection.set(found['_id'] as string, { ...structuredClone(op.replaceOne.replacement), _id: found['_id'] });
        }
      } else if ('updateOne' in op) {
        const found = [...collection.values()].find((doc) => matches(doc, op.updateOne.filter as Filter));
        if (found) {
          matchedCount++;
          applyUpdate(found, op.updateOne.update as Document);
        } else if (op.updateOne.upsert) {
          throw new Error('in-memory store: upserts are not used by the trip history');
        }
      } else if ('updateMany' in op) {
        for (const doc of collection.values()) {
          if (!matches(doc, op.updateMany.filter as Filter)) continue;
          matchedCount++;
          applyUpdate(doc, op.updateMany.update as Document);
        }
      } else {
        throw new Error(`in-memory store: unsupported operation ${Object.keys(op).join()}`);
      }
    }
    return { matchedCount };
  }
}

/** `prepareTripHistory` in memory: the zeroed statistics document. */
export function prepareInMemory(store: InMemoryStore): void {
  if (store.find(TRIP_STATS, { _id: 'all' }).length === 0) store.bulkWrite(TRIP_STATS, [{ insertOne: { document: emptyTripStats() } }]);
}

/** `applyTripHistoryBatch` in memory: the same keys, filters, plan and order of steps. */
export function applyInMemory(store: InMemoryStore, batch: readonly Delivery[]): number {
  const keys = tripHistoryKeys(batch);
  if (isEmptyKeys(keys)) return 0;
  const filters = tripHistoryFilters(keys);
  const state: TripHistoryState = {
    trips: mergeById(
      (filters.trips ? store.find(TRIPS, filters.trips) : []) as TripHistoryDocument[],
      ...filters.tripsOfRenamed.map((filter) => store.find(TRIPS, filter) as TripHistoryDocument[]),
    ),
    passengerNames: filters.passengerNames ? (store.find(PASSENGER_NAMES, filters.passengerNames) as NameLookupDocument[]) : [],
    driverNames: filters.driverNames ? (store.find(DRIVER_NAMES, filters.driverNames) as NameLookupDocument[]) : [],
    payments: filters.payments ? (store.find(PAYMENTS, filters.payments) as PaymentLookupDocument[]) : [],
    stats: store.find(TRIP_STATS, { _id: 'all' })[0] as TripStatsDocument,
  };
  const plan = planTripHistoryBatch(state, batch);
  for (const { collection, ops } of plan.steps) {
    const { matchedCount } = store.bulkWrite(collection, ops);
    if (collection === TRIP_STATS && matchedCount !== 1) throw new Error('trip_stats changed concurrently');
  }
  return plan.applied;
}

/** Everything the trip history holds, sorted by id: for comparing two runs. */
export function snapshot(store: InMemoryStore) {
  return {
    trips: store.all<TripHistoryDocument>(TRIPS),
    passengerNames: store.all<NameLookupDocument>(PASSENGER_NAMES),
    driverNames: store.all<NameLookupDocument>(DRIVER_NAMES),
    payments: store.all<PaymentLookupDocument>(PAYMENTS),
    stats: store.all<TripStatsDocument>(TRIP_STATS)[0]!,
  };
}
