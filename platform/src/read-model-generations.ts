import type { Db } from 'mongodb';
import { envNumber } from './config.ts';
import { MAJORITY_WRITES } from './mongo.ts';

/**
 * Read-model generations: how a projection is rebuilt without downtime. Each projection's
 * collections exist in numbered generations; one small document per projection, in
 * `read_model_generations`, says which generation is served. A rebuild fills generation n+1
 * beside generation n, then moves the pointer (one single-document write: atomic); the
 * projector and the query subgraphs follow the pointer. Generation 0 (no pointer document)
 * is the plain collection names, so data written before generations existed is served as is.
 *
 * This module is the one source of the naming, for writers and readers alike.
 */

/** Every projection and the collections it writes, by their generation-0 (base) names. */
export const readModels = {
  passengers: ['passengers'],
  drivers: ['drivers'],
  'trip-history': ['trips', 'trip_stats', 'trip_history_passenger_names', 'trip_history_driver_names', 'trip_history_payments'],
} as const satisfies Record<string, readonly string[]>;

export type ReadModelName = keyof typeof readModels;
export type ReadModelCollection = (typeof readModels)[ReadModelName][number];

export const readModelNames = Object.keys(readModels) as ReadModelName[];

/** Where the pointers live: `{ _id: <projection name>, generation: n }`. */
export const GENERATIONS_COLLECTION = 'read_model_generations';

export interface GenerationDocument {
  _id: string;
  generation: number;
  /** When the pointer last moved (ISO 8601). */
  swappedAt?: string;
}

export function isReadModelName(name: string): name is ReadModelName {
  return Object.hasOwn(readModels, name);
}

/** The physical name of a base collection in a generation: `trips`, then `trips__g1`, `trips__g2`… */
export function generationCollection(base: string, generation: number): string {
  assertGeneration(generation);
  return generation === 0 ? base : `${base}__g${generation}`;
}

/** The durable consumer of a projection's generation: `projection-trip-history`, then `…-g1`… */
export function generationConsumer(baseConsumer: string, generation: number): string {
  assertGeneration(generation);
  return generation === 0 ? baseConsumer : `${baseConsumer}-g${generation}`;
}

/** The projection that writes a base collection. */
export function readModelOf(collection: ReadModelCollection): ReadModelName {
  for (const name of readModelNames) if ((readModels[name] as readonly string[]).includes(collection)) return name;
  throw new Error(`${collection} is not a read-model collection.`);
}

/** A projection's physical collection names in a generation, by base name. */
export function generationCollections(name: ReadModelName, generation: number): Record<string, string> {
  return Object.fromEntries(readModels[name].map((base) => [base, generationCollection(base, generation)]));
}

/** The generation a pointer document says (none: 0). Rejects a malformed document loudly. */
export function generationOf(doc: { generation?: unknown } | null | undefined): number {
  if (!doc) return 0;
  const { generation } = doc;
  if (typeof generation !== 'number' || !Number.isInteger(generation) || generation < 0) {
    throw new Error(`${GENERATIONS_COLLECTION}: bad generation ${JSON.stringify(generation)}.`);
  }
  return generation;
}

function assertGeneration(generation: number): void {
  if (!Number.isInteger(generation) || generation < 0) throw new Error(`A generation is an integer ≥ 0; got ${generation}.`);
}

/** The generation served now. */
export async function readGeneration(db: Db, name: ReadModelName): Promise<number> {
  return generationOf(await db.collection<GenerationDocument>(GENERATIONS_COLLECTION).findOne({ _id: name }));
}

/**
 * The generation served now, read with every other projection's pointer in one `find` that
 * callers on the same `db` share for `maxAgeMs` (a read started that recently answers them).
 * A projector process watches each projection's pointer (each partition too) every
 * `READ_MODEL_GENERATION_POLL_MS`: one read a second instead of one per projection when idle,
 * and a swap is still followed within twice the poll.
 */
export function sharedGenerationRead(db: Db, name: ReadModelName, maxAgeMs: number, now = Date.now): Promise<number> {
  let last = sharedReads.get(db);
  if (!last || now() - last.at >= maxAgeMs) {
    const pointers = db
      .collection<GenerationDocument>(GENERATIONS_COLLECTION)
      .find({ _id: { $in: readModelNames } })
      .toArray()
      .then((docs) => new Map(docs.map((doc) => [doc._id, doc])));
    const fresh = { at: now(), pointers };
    sharedReads.set(db, fresh);
    // A failed read is not shared: the next caller asks again.
    pointers.catch(() => {
      if (sharedReads.get(db) === fresh) sharedReads.delete(db);
    });
    last = fresh;
  }
  return last.pointers.then((pointers) => generationOf(pointers.get(name)));
}

const sharedReads = new WeakMap<Db, { at: number; pointers: Promise<Map<string, GenerationDocument>> }>();

/** Moves the pointer: one single-document write, so readers see the old or the new generation, never a mix. */
export async function swapGeneration(db: Db, name: ReadModelName, generation: number, now = new Date()): Promise<void> {
  assertGeneration(generation);
  await db
    .collection<GenerationDocument>(GENERATIONS_COLLECTION, MAJORITY_WRITES)
    .updateOne({ _id: name }, { $set: { generation, swappedAt: now.toISOString() } }, { upsert: true });
}

/** Resolves a base collection name to the one served now. */
export interface ReadModelResolver {
  collection(base: ReadModelCollection): Promise<string>;
}

/**
 * Resolves through the pointers, each cached for `ttlMs`: a reader follows a swap within
 * `ttlMs` and costs one small `findOne` per projection per `ttlMs` at most.
 */
export function generationResolver(db: Db, { ttlMs, now = Date.now }: { ttlMs: number; now?: () => number }): ReadModelResolver {
  const cache = new Map<ReadModelName, { generation: Promise<number>; until: number }>();
  return {
    async collection(base) {
      const name = readModelOf(base);
      let entry = cache.get(name);
      if (!entry || entry.until <= now()) {
        const generation = readGeneration(db, name);
        const fresh = { generation, until: now() + ttlMs };
        cache.set(name, fresh);
        // A failed read is not cached: the next query asks again.
        generation.catch(() => {
          if (cache.get(name) === fresh) cache.delete(name);
        });
        entry = fresh;
      }
      return generationCollection(base, await entry.generation);
    },
  };
}

/** How often projectors look at the pointers, and how long readers cache them (`READ_MODEL_GENERATION_POLL_MS`). */
export const DEFAULT_GENERATION_POLL_MS = 1000;

export const readGenerationPollMs = (env: Record<string, string | undefined>) =>
  envNumber(env, 'READ_MODEL_GENERATION_POLL_MS', DEFAULT_GENERATION_POLL_MS, { min: 50, max: 60_000, integer: true });

/**
 * `PROJECTION_PARTITIONS`: into how many partitions (by aggregate id) each read model's events
 * are split, for several projector processes to share (default 1: one projector applies all).
 * The projectors and `projections:rebuild` must agree on it; changing it is a rebuild (README).
 */
export const readProjectionPartitions = (env: Record<string, string | undefined>) =>
  envNumber(env, 'PROJECTION_PARTITIONS', 1, { min: 1, max: 64, integer: true });
