import { bulkWriteInSafeCommands } from '@happyride/platform';
import type { AnyBulkWriteOperation, Collection, Db, Document, Filter } from 'mongodb';

/**
 * How a projector's guarded writes reach the server.
 *
 * Every projector write targets one document by `_id` and carries its guard in the filter
 * (`{ _id, version: 3 }`, `{ _id, passengerNameVersion: { $lt: 7 } }`): the plan already checked
 * that guard against the document it just read, and the filter repeats it so that MongoDB applies
 * the write atomically only if nobody changed the document since.
 *
 * FerretDB v1 (SQLite) differs in two ways that matter here: it pushes a filter down to SQLite
 * only when it has a single field (`{ _id }`, and, as local-servers builds it, `{ _id: { $in } }`
 * or one field compared with strings); a filter of `_id` plus a guard reads and decodes the whole
 * collection, so guarded writes make a replay quadratic. And it does not apply a conditional
 * update atomically anyway. There, the guard in the filter buys nothing and costs a scan, so the
 * filters are cut to `{ _id }` and the guard rests on what it rests on in any case: the plan's
 * check against the document just read, with one projector per read model (the lease holder:
 * see `whileLeaseHeld`; its durable consumer delivers in stream order, a batch at a time).
 *
 * There too, a command of ~100 matching updates deadlocks the server (see
 * `bulkWriteInSafeCommands`), so the updates go in smaller commands; inserts do not hold a
 * connection per statement (FerretDB writes them in transactions of 100), so they go in
 * commands of `INSERTS_PER_COMMAND`: a projector catching up inserts thousands per batch.
 */
export type WriteFilters = 'guarded' | 'id-only';

const detected = new WeakMap<Db, Promise<WriteFilters>>();

/** `id-only` on FerretDB (its `buildInfo` has `ferretdbVersion`), `guarded` on MongoDB; asked once per `Db` (again after a failed ask). */
export function writeFiltersFor(db: Db): Promise<WriteFilters> {
  let filters = detected.get(db);
  if (!filters) {
    filters = db
      .admin()
      .command({ buildInfo: 1 })
      .then((info): WriteFilters => ('ferretdbVersion' in info ? 'id-only' : 'guarded'));
    detected.set(db, filters);
    // A failed ask (the server was unreachable) is not kept: the next batch asks again.
    const asked = filters;
    asked.catch(() => {
      if (detected.get(db) === asked) detected.delete(db);
    });
  }
  return filters;
}

const idOnly = <T extends Document>(filter: Filter<T>): Filter<T> => {
  const id: unknown = (filter as Document)['_id'];
  if (typeof id !== 'string') throw new Error(`a projector write must target one document by a string _id, got filter ${JSON.stringify(filter)}`);
  return { _id: id } as Filter<T>;
};

/** The operations as the server should get them: unchanged when `guarded`, filters cut to `{ _id }` when `id-only`. */
export function forServer<T extends Document>(ops: AnyBulkWriteOperation<T>[], filters: WriteFilters): AnyBulkWriteOperation<T>[] {
  if (filters === 'guarded') return ops;
  return ops.map((op): AnyBulkWriteOperation<T> => {
    if ('replaceOne' in op) return { replaceOne: { ...op.replaceOne, filter: idOnly(op.replaceOne.filter) } };
    if ('updateOne' in op) return { updateOne: { ...op.updateOne, filter: idOnly(op.updateOne.filter) } };
    if ('deleteOne' in op) return { deleteOne: { ...op.deleteOne, filter: idOnly(op.deleteOne.filter) } };
    if ('insertOne' in op) return op;
    throw new Error(`a projector write must target one document: ${Object.keys(op).join(', ')} is not allowed`);
  });
}

/** Inserts per command on FerretDB. */
export const INSERTS_PER_COMMAND = 1_000;

/** Sends a projector's writes (unordered) as `forServer` makes them; on FerretDB, the updates in small commands, the inserts in large ones. */
export async function writeAll<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[], filters: WriteFilters): Promise<void> {
  const sent = forServer(ops, filters);
  if (filters === 'guarded') {
    if (sent.length > 0) await collection.bulkWrite(sent, { ordered: false });
    return;
  }
  const inserts = sent.filter((op) => 'insertOne' in op);
  for (let i = 0; i < inserts.length; i += INSERTS_PER_COMMAND) await collection.bulkWrite(inserts.slice(i, i + INSERTS_PER_COMMAND), { ordered: false });
  await bulkWriteInSafeCommands(
    collection,
    sent.filter((op) => !('insertOne' in op)),
  );
}
