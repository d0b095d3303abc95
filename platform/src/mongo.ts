import { MongoClient, MongoServerError, type AnyBulkWriteOperation, type Collection, type CollectionOptions, type Db, type Document } from 'mongodb';

/** The server's error code for a write whose `_id` (or other unique key) is there already: MongoDB's, and FerretDB's. */
export const DUPLICATE_KEY = 11000;

/** The write failed because its document is there already (see `DUPLICATE_KEY`). */
export const isDuplicateKey = (error: unknown): boolean => error instanceof MongoServerError && error.code === DUPLICATE_KEY;

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
 * The first answer is awaited for up to `startupTimeoutMs` (see `firstAnswer`).
 */
export async function connectMongo(
  url: string,
  database: string,
  appName: string,
  { timeoutMs, startupTimeoutMs = 30_000 }: { timeoutMs?: number; startupTimeoutMs?: number } = {},
): Promise<Mongo> {
  const bounded =
    timeoutMs === undefined
      ? { serverSelectionTimeoutMS: 10_000 }
      : { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, socketTimeoutMS: timeoutMs, waitQueueTimeoutMS: timeoutMs, retryReads: false };
  const client = await firstAnswer(async () => {
    const attempt = new MongoClient(url, { appName, ...bounded });
    quietPool(attempt);
    try {
      await attempt.connect();
      await attempt.db(database).command({ ping: 1 });
      return attempt;
    } catch (error) {
      await attempt.close().catch(() => {});
      throw error;
    }
  }, startupTimeoutMs);
  const db = client.db(database);
  return { client, db, close: () => client.close() };
}

/**
 * At start-up the server may be slow to answer (starting too, or a loaded machine): the request
 * bound above would fail the process after 2 s, so connecting (a new client each time: a client
 * whose first connection failed stays closed) is tried again until `startupTimeoutMs`, then its
 * error is thrown (the process exits and says why).
 */
async function firstAnswer<T>(connect: () => Promise<T>, startupTimeoutMs: number): Promise<T> {
  const deadline = Date.now() + startupTimeoutMs;
  for (;;) {
    try {
      return await connect();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
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
 * their claims, dead letters, the simulated provider's ledger, dispatch offers) and for the
 * read-model generation pointers and the rebuild lock (a pointer rolled back would serve a dropped
 * generation; a lock rolled back would let two rebuilds run): a write is acknowledged once a
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
 * deadlocks the server. That is not enough: the statements in flight of all commands add up
 * (four projectors' commands of ~25 deadlocked it too), so the embedded FerretDB is built with
 * that fixed (UPDATE_PATCHES in local-servers/src/ferretdb-patches.ts). Writes that may match
 * many documents (a retried upsert batch, a projector's batch) still go in commands of at most
 * this many statements, for a stock FerretDB 1.x.
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
