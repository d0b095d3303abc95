import { MongoClient, type AnyBulkWriteOperation, type Collection, type CollectionOptions, type Db, type Document } from 'mongodb';

export interface Mongo {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/**
 * Connects to a MongoDB-wire server (MongoDB, or FerretDB locally) and checks it answers.
 * With `timeoutMs` (the query subgraphs), each step of an operation gives up after that long:
 * selecting the server, opening a connection, waiting for a pooled one, and waiting for the
 * reply (the driver's `timeoutMS` is a no-op in 6.x), so a stalled server fails a request fast;
 * a read is then not retried by the driver (that would double the wait): the client retries.
 */
export async function connectMongo(url: string, database: string, appName: string, { timeoutMs }: { timeoutMs?: number } = {}): Promise<Mongo> {
  const bounded =
    timeoutMs === undefined
      ? { serverSelectionTimeoutMS: 10_000 }
      : { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, socketTimeoutMS: timeoutMs, waitQueueTimeoutMS: timeoutMs, retryReads: false };
  const client = new MongoClient(url, { appName, ...bounded });
  quietPool(client);
  await client.connect();
  const db = client.db(database);
  await db.command({ ping: 1 });
  return { client, db, close: () => client.close() };
}

/**
 * Every 100 ms (`minPoolSizeCheckFrequencyMS`, an option the driver keeps to itself) each
 * connection pool wakes to drop connections idle past `maxIdleTimeMS` and to open up to
 * `minPoolSize`: neither is set here (no idle limit, no minimum), so it found nothing to do, yet
 * it cost an idle process 2 ms of CPU a second (2.4 against 0.3 ms/s without it, measured on
 * FerretDB), a tenth of the whole system's idle budget for each of four processes. Once a
 * minute is plenty; perished connections are still dropped when checked out. Set before
 * `connect()`, which builds the pools from these options.
 */
export function quietPool(client: MongoClient): void {
  Object.assign(client.options, { minPoolSizeCheckFrequencyMS: 60_000 });
}

/**
 * For the collections whose writes nothing could rebuild (saga state and outboxes, deadlines and
 * their claims, dead letters, the simulated provider's ledger): a write is acknowledged once a
 * majority of a replica set holds it, so a failover cannot roll it back. Read models are
 * written with the default (a lost write is replayed from the log). A server alone (FerretDB,
 * one mongod) acknowledges as before.
 * @example db.collection('saga_instances', MAJORITY_WRITES)
 */
export const MAJORITY_WRITES = { writeConcern: { w: 'majority' } } as const satisfies CollectionOptions;

/**
 * FerretDB v1.24 holds one SQLite connection per matched statement of an `update` command until
 * the command ends (`defer` inside its loop over the statements, handler/msg_update.go), out of
 * a pool of 100 (backends/sqlite/metadata/pool/opendb.go): one command of ~100 updates that match
 * deadlocks the server. Writes that may match many documents (a retried upsert batch, a
 * projector's batch) go in commands of at most this many statements.
 */
export const SAFE_STATEMENTS_PER_COMMAND = 50;

/** `bulkWrite` (unordered) in commands of at most `SAFE_STATEMENTS_PER_COMMAND` statements; resolves to the `_id`s it upserted. */
export async function bulkWriteInSafeCommands<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[]): Promise<unknown[]> {
  const upserted: unknown[] = [];
  for (let i = 0; i < ops.length; i += SAFE_STATEMENTS_PER_COMMAND) {
    const result = await collection.bulkWrite(ops.slice(i, i + SAFE_STATEMENTS_PER_COMMAND), { ordered: false });
    upserted.push(...Object.values(result.upsertedIds));
  }
  return upserted;
}
