import { DUPLICATE_KEY, SAFE_STATEMENTS_PER_COMMAND } from '@happyride/platform';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type BulkWriteResult, type Collection, type Db, type Document, type Filter } from 'mongodb';
import { findInChunks } from './find-in-chunks.ts';

/**
 * How a projector's writes reach the server: guarded, fenced, and counted.
 *
 * Every projector write targets one document by `_id` and carries its guard in the filter
 * (`{ _id, version: 3 }`, `{ _id, passengerNameVersion: { $lt: 7 } }`): the plan checked that
 * guard against the document it just read, and the filter repeats it so that the server applies
 * the write only if nobody changed the document since. It also carries the fencing token of the
 * lease its projector holds (see `fence`): the filter admits only a document last written under
 * the same or an older token, and the write stamps its token on the document. A projector that
 * lost its lease without knowing it (frozen past its TTL, then resumed) writes with an older
 * token than its successor's: whatever its successor wrote, the server refuses to overwrite.
 * The same filters on MongoDB and FerretDB: equality, `$lt`, `$not`/`$gt`, a unique `_id`.
 *
 * Each write must change exactly one document (`countChanged`): a write that matched nothing is
 * a refusal, never ignored. The documents it aimed at are then read (only then: no read per
 * write) to tell a fenced-off projector (`FencedOffError`: a newer token wrote there; stop) from
 * a concurrent change under its own token (`WriteConflictError`: plan the batch again).
 *
 * FerretDB v1 (SQLite) pushes down a filter of `_id` and other fields as `WHERE _id = ?` (one
 * index search, as local-servers builds it) and checks the rest on that one document. A command
 * of ~100 matching updates deadlocks a stock FerretDB (see `bulkWriteInSafeCommands`), so there
 * the updates go in smaller commands; inserts do not hold a connection per statement (FerretDB
 * writes them in transactions of 100), so they go in commands of `INSERTS_PER_COMMAND`: a
 * projector catching up inserts thousands per batch.
 */
export type ServerKind = 'mongodb' | 'ferretdb';

const detected = new WeakMap<Db, Promise<ServerKind>>();

/** `ferretdb` when its `buildInfo` has `ferretdbVersion`, else `mongodb`; asked once per `Db` (again after a failed ask). */
export function serverKindOf(db: Db): Promise<ServerKind> {
  let kind = detected.get(db);
  if (!kind) {
    kind = db
      .admin()
      .command({ buildInfo: 1 })
      .then((info): ServerKind => ('ferretdbVersion' in info ? 'ferretdb' : 'mongodb'));
    detected.set(db, kind);
    // A failed ask (the server was unreachable) is not kept: the next batch asks again.
    const asked = kind;
    asked.catch(() => {
      if (detected.get(db) === asked) detected.delete(db);
    });
  }
  return kind;
}

/**
 * The field in which every projector-written document keeps the fencing token of the lease it
 * was written under: the lease's KV revision when it was taken (`whileLeaseHeld`), which grows
 * with every acquisition, so a successor's token is always above its predecessor's. 0 is a
 * writer without a lease (a rebuild's fresh generation, a test): any lease holder may overwrite it.
 */
export const FENCE_FIELD = 'fence';

/** The filter condition on `fence`: written under this token or an older one (or never fenced). */
export const writtenAtOrBefore = (token: number): Document => ({ $not: { $gt: token } });

const idOf = (filter: Filter<Document>): string => {
  const id: unknown = (filter as Document)['_id'];
  if (typeof id !== 'string') throw new Error(`a projector write must target one document by a string _id, got filter ${JSON.stringify(filter)}`);
  return id;
};

const guard = <T extends Document>(filter: Filter<T>, token: number): Filter<T> => {
  idOf(filter as Filter<Document>);
  if (FENCE_FIELD in filter) throw new Error(`a projector write's filter must leave ${FENCE_FIELD} to the fencing`);
  return { ...filter, [FENCE_FIELD]: writtenAtOrBefore(token) } as Filter<T>;
};

/**
 * The operations with the fencing token `token`: each filter also requires the document not to
 * have been written under a newer token, and each write stamps `token` on the document. Pure.
 * Only single-document writes aimed by `_id` (and inserts, which the unique `_id` refuses over
 * any existing document) are allowed.
 */
export function fence<T extends Document>(ops: readonly AnyBulkWriteOperation<T>[], token: number): AnyBulkWriteOperation<T>[] {
  if (!Number.isSafeInteger(token) || token < 0) throw new Error(`a fencing token is an integer ≥ 0; got ${token}`);
  return ops.map((op): AnyBulkWriteOperation<T> => {
    if ('insertOne' in op) {
      idOf(op.insertOne.document as Document as Filter<Document>);
      return { insertOne: { document: { ...op.insertOne.document, [FENCE_FIELD]: token } } };
    }
    if ('replaceOne' in op) {
      return { replaceOne: { ...op.replaceOne, filter: guard(op.replaceOne.filter, token), replacement: { ...op.replaceOne.replacement, [FENCE_FIELD]: token } } };
    }
    if ('updateOne' in op) {
      const { update } = op.updateOne;
      if (Array.isArray(update)) throw new Error('a projector update must be an update document, not a pipeline');
      const set: Document = (update as Document)['$set'] ?? {};
      const fenced = { ...update, $set: { ...set, [FENCE_FIELD]: token } } as Document as typeof update;
      return { updateOne: { ...op.updateOne, filter: guard(op.updateOne.filter, token), update: fenced } };
    }
    if ('deleteOne' in op) return { deleteOne: { ...op.deleteOne, filter: guard(op.deleteOne.filter, token) } };
    throw new Error(`a projector write must target one document: ${Object.keys(op).join(', ')} is not allowed`);
  });
}

/** The `_id` each operation aims at. */
export const targetIds = <T extends Document>(ops: readonly AnyBulkWriteOperation<T>[]): string[] =>
  ops.map((op) => {
    if ('insertOne' in op) return idOf(op.insertOne.document as Filter<Document>);
    if ('replaceOne' in op) return idOf(op.replaceOne.filter as Filter<Document>);
    if ('updateOne' in op) return idOf(op.updateOne.filter as Filter<Document>);
    if ('deleteOne' in op) return idOf(op.deleteOne.filter as Filter<Document>);
    throw new Error(`a projector write must target one document: ${Object.keys(op).join(', ')} is not allowed`);
  });

/** Documents a bulk write changed or found: inserted, matched (replaced or updated, changed or not), upserted, deleted. */
export const countChanged = (result: Pick<BulkWriteResult, 'insertedCount' | 'matchedCount' | 'upsertedCount' | 'deletedCount'>): number =>
  result.insertedCount + result.matchedCount + result.upsertedCount + result.deletedCount;

/**
 * A newer lease holder wrote documents this projector was about to overwrite: this projector's
 * lease is gone (it may not know yet). Its writes were refused by the server; it must stop
 * writing, give up the batch unacknowledged and seek the lease again. Transient: it says nothing
 * about the events, so it never counts toward parking them.
 */
export class FencedOffError extends Error {
  override readonly name = 'FencedOffError';
  readonly transient = true;
  constructor(
    readonly token: number,
    readonly newerToken: number,
    readonly collection: string,
  ) {
    super(`fenced off: ${collection} holds writes under fencing token ${newerToken}, newer than this projector's ${token}; its lease has passed on.`);
  }
}

/** A document changed under this projector's own token since the batch read it: plan the batch again from what is stored. */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';
  readonly transient = true;
}

/** Sends one unordered bulk write and counts what it changed; an insert refused as a duplicate `_id` is counted as not done. */
async function sendCounted<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[]): Promise<number> {
  if (ops.length === 0) return 0;
  try {
    return countChanged(await collection.bulkWrite(ops, { ordered: false }));
  } catch (error) {
    const writeErrors = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
    if (error instanceof MongoBulkWriteError && writeErrors.length > 0 && writeErrors.every((e) => e.code === DUPLICATE_KEY)) return countChanged(error.result);
    throw error;
  }
}

/** Inserts per command on FerretDB. */
export const INSERTS_PER_COMMAND = 1_000;

/**
 * Sends a projector's writes (unordered), fenced with `token`; on FerretDB the updates in small
 * commands, the inserts in large ones. Resolves once every write changed its document; rejects
 * with `FencedOffError` when a newer token holds a document it aimed at, `WriteConflictError`
 * when a write found its document changed otherwise.
 */
export async function writeAll<T extends Document>(collection: Collection<T>, ops: readonly AnyBulkWriteOperation<T>[], { server, token }: { server: ServerKind; token: number }): Promise<void> {
  if (ops.length === 0) return;
  const sent = fence(ops, token);
  let changed = 0;
  if (server === 'mongodb') {
    changed = await sendCounted(collection, sent);
  } else {
    const inserts = sent.filter((op) => 'insertOne' in op);
    const others = sent.filter((op) => !('insertOne' in op));
    for (let i = 0; i < inserts.length; i += INSERTS_PER_COMMAND) changed += await sendCounted(collection, inserts.slice(i, i + INSERTS_PER_COMMAND));
    for (let i = 0; i < others.length; i += SAFE_STATEMENTS_PER_COMMAND) changed += await sendCounted(collection, others.slice(i, i + SAFE_STATEMENTS_PER_COMMAND));
  }
  if (changed === sent.length) return;
  await explainRefusal(collection, ops, token, sent.length - changed);
}

/** Reads the documents refused writes aimed at (the rare path) and throws what happened. */
async function explainRefusal<T extends Document>(collection: Collection<T>, ops: readonly AnyBulkWriteOperation<T>[], token: number, refused: number): Promise<never> {
  const ids = [...new Set(targetIds(ops))];
  const stored = await findInChunks(collection as unknown as Collection<{ _id: string; [FENCE_FIELD]?: number }>, { _id: { $in: ids } }, { projection: { [FENCE_FIELD]: 1 } });
  const newest = Math.max(0, ...stored.map((doc): number => (typeof doc[FENCE_FIELD] === 'number' ? doc[FENCE_FIELD] : 0)));
  if (newest > token) throw new FencedOffError(token, newest, collection.collectionName);
  throw new WriteConflictError(`${collection.collectionName}: ${refused} of ${ops.length} writes found their document changed since it was read; planning the batch again.`);
}
