import type { AggregateType } from '@happyride/domain';
import type { Delivery, EventEnvelope } from '@happyride/eventstore';
import { generationCollection, type ReadModelName } from '@happyride/platform';
import type { AnyBulkWriteOperation, Db, Document, IndexDescription } from 'mongodb';
import { findInChunks } from './find-in-chunks.ts';
import { serverKindOf, writeAll } from './guarded-writes.ts';

/** A read-model document that mirrors one aggregate: keyed by its id, stamped with its version. */
export interface AggregateViewDocument extends Document {
  _id: string;
  /** The aggregate version this document reflects: the guard that makes replays harmless. */
  version: number;
}

/**
 * A projection whose documents follow one aggregate each. Its logic is one pure function:
 * `evolve(doc | null, event) → doc | null` (null: no document, or delete it).
 */
export interface AggregateViewProjection<A extends AggregateType, D extends AggregateViewDocument> {
  name: ReadModelName;
  /** The base (generation-0) collection name. */
  collection: string;
  aggregateType: A;
  evolve: (doc: D | null, event: EventEnvelope<A>) => Omit<D, '_id' | 'version'> | null;
  indexes?: IndexDescription[];
}

/**
 * An event arrived before the ones it follows (out of order): the batch is retried later.
 * Transient: it says the predecessor is still on its way, nothing about the event itself, so it
 * never counts toward `MAX_DELIVERIES` (see `isTransientFailure`). The projector reads its
 * consumer in stream order from its checkpoint, so it does not meet one in normal operation.
 */
export class VersionGapError extends Error {
  override readonly name = 'VersionGapError';
  readonly transient = true;
}

/**
 * Applies delivered commits to a projection's documents in one round of I/O: one `find` for
 * the documents touched, the pure `evolve` in memory, one `bulkWrite`. Each event is applied
 * exactly when it is the next version of its document: a redelivered event (version already
 * reflected) is skipped, so at-least-once delivery gives exactly-once effects. A write is
 * conditional on the version it was computed from and fenced with `token`, so neither a
 * concurrent writer nor a newer lease holder can be undone (see `guarded-writes.ts`).
 *
 * @param generation which generation of the projection's collection to write (0: the base name).
 * @param token the fencing token of the lease the projector holds (0: no lease).
 * @returns how many events changed a document.
 */
export async function applyToAggregateViews<A extends AggregateType, D extends AggregateViewDocument>(
  db: Db,
  projection: AggregateViewProjection<A, D>,
  batch: readonly Delivery[],
  generation = 0,
  token = 0,
): Promise<number> {
  const events = batch
    .flatMap((delivery): EventEnvelope[] => delivery.commit.events)
    .filter((event) => event.aggregateType === projection.aggregateType) as EventEnvelope<A>[];
  if (events.length === 0) return 0;

  const collection = db.collection<AggregateViewDocument>(generationCollection(projection.collection, generation));
  const ids = [...new Set(events.map((event) => event.aggregateId))];
  const stored = new Map<string, D>();
  for (const doc of await findInChunks(collection, { _id: { $in: ids } })) stored.set(doc._id, doc as D);

  const current = new Map<string, D | null>(ids.map((id) => [id, stored.get(id) ?? null]));
  const versionOf = new Map<string, number>(ids.map((id) => [id, stored.get(id)?.version ?? 0]));
  let applied = 0;
  for (const event of events) {
    const version = versionOf.get(event.aggregateId) ?? 0;
    if (event.version <= version) continue;
    if (event.version !== version + 1) {
      throw new VersionGapError(
        `${projection.name}: ${event.aggregateType} ${event.aggregateId} event ${event.version} arrived before ${version + 1}.`,
      );
    }
    const next = projection.evolve(current.get(event.aggregateId) ?? null, event);
    current.set(event.aggregateId, next === null ? null : ({ ...next, _id: event.aggregateId, version: event.version } as D));
    versionOf.set(event.aggregateId, event.version);
    applied++;
  }

  const writes: AnyBulkWriteOperation<AggregateViewDocument>[] = [];
  for (const id of ids) {
    const before = stored.get(id);
    const after = current.get(id) ?? null;
    if ((versionOf.get(id) ?? 0) === (before?.version ?? 0)) continue;
    if (after === null) {
      if (before) writes.push({ deleteOne: { filter: { _id: id, version: before.version } } });
    } else if (before) {
      writes.push({ replaceOne: { filter: { _id: id, version: before.version }, replacement: after } });
    } else {
      // Refused (duplicate _id) if someone inserted it since it was read: noticed, not ignored.
      writes.push({ insertOne: { document: after } });
    }
  }
  if (writes.length > 0) await writeAll(collection, writes, { server: await serverKindOf(db), token });
  return applied;
}
