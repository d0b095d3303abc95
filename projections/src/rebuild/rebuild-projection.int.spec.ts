import { bootstrapEventLog, connectNats, ensureConsumer, JetStreamEventStore, listConsumerNames, type ConsumerDefinition, type Nats } from '@happyride/eventstore';
import { connectMongo, createLogger, generationResolver, readGeneration, type Mongo } from '@happyride/platform';
import type { Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runProjector } from '../projector.ts';
import { tripHistoryProjector } from '../trips/trip-history-projector.ts';
import type { TripHistoryDocument } from '../trips/trip-history.ts';
import type { ProgressSample } from './progress.ts';
import { rebuildProjection, RebuildError, projectionNamed } from './rebuild-projection.ts';

let nats: Nats;
let mongo: Mongo;
let store: JetStreamEventStore;
const logger = createLogger('test', 'silent');
const now = '2026-11-23T10:00:00.000Z';
const run = randomUUID().slice(0, 6);
let counter = 0;
const newId = (prefix: string) => `${prefix}-${run}-${counter++}`;
const meta = () => ({ commandId: randomUUID(), correlationId: 'corr', now });
const databases: Db[] = [];
const stops: Array<{ stop: AbortController; done: Promise<void> }> = [];

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'rebuild-test');
  mongo = await connectMongo(inject('mongoUrl'), 'test_rebuild_unused', 'test');
  await bootstrapEventLog(nats.jsm, []);
  store = new JetStreamEventStore(nats.js, nats.jsm);
});
afterAll(async () => {
  for (const { stop, done } of stops) {
    stop.abort();
    await done;
  }
  for (const db of databases) await db.dropDatabase().catch(() => {});
  await mongo.close();
  await nats.close();
});

function freshDb(): Db {
  const db = mongo.client.db(`test_rebuild_${randomUUID().slice(0, 8)}`);
  databases.push(db);
  return db;
}
async function freshConsumer(): Promise<ConsumerDefinition> {
  const definition: ConsumerDefinition = { name: `test-rebuild-${randomUUID().slice(0, 8)}`, description: 'test', aggregateTypes: ['trip', 'passenger', 'driver'] };
  await ensureConsumer(nats.jsm, definition);
  return definition;
}
function startProjector(db: Db, consumerName: string) {
  const stop = new AbortController();
  const done = runProjector(nats, db, tripHistoryProjector, logger, { consumerName, signal: stop.signal, generationPollMs: 100, retireAfterMs: 500 });
  stops.push({ stop, done });
}

const registerPassenger = (id: string, name: string) =>
  store.append('passenger', id, [{ type: 'PassengerRegistered', data: { passengerId: id, name } }], 0, meta());
const renamePassenger = (id: string, name: string, version: number) =>
  store.append('passenger', id, [{ type: 'PassengerDetailsUpdated', data: { passengerId: id, name } }], version, meta());
async function createTrip(passengerId: string): Promise<string> {
  const tripId = newId('trip');
  await store.append(
    'trip',
    tripId,
    [{ type: 'TripCreated', data: { tripId, passengerId, start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.29, lat: 48.86 }, distanceKm: 4.9, fare: 17.8, requestedAt: now } }],
    0,
    meta(),
  );
  await store.append('trip', tripId, [{ type: 'TripConfirmed', data: { tripId } }], 1, meta());
  return tripId;
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms; last seen: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const tripsIn = (db: Db, collection: string, ids: string[]) =>
  db.collection<TripHistoryDocument>(collection).find({ _id: { $in: ids } }).sort({ _id: 1 }).toArray();

describe('projections:rebuild', () => {
  it('given a trip history served by generation 0, when it is rebuilt while events keep coming, then readers switch at the swap to a projection equal to a fresh one and nothing appended is lost', { timeout: 240_000 }, async () => {
    // Given: a passenger with trips, projected live into generation 0.
    const db = freshDb();
    const consumer = await freshConsumer();
    const passengerId = newId('passenger');
    await registerPassenger(passengerId, 'Ada');
    const seeded: string[] = [];
    for (let i = 0; i < 30; i++) seeded.push(await createTrip(passengerId));
    startProjector(db, consumer.name);
    expect(await until(() => tripsIn(db, 'trips', seeded), (docs) => docs.length === 30 && docs.every((d) => d.state === 'CONFIRMED'))).toHaveLength(30);

    // When: the rebuild runs while trips keep being created and a reader keeps reading.
    const readers = generationResolver(db, { ttlMs: 100 });
    let rebuilding = true;
    const appended: string[] = [];
    const appender = (async () => {
      while (rebuilding) {
        appended.push(await createTrip(passengerId));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const observed: Array<{ collection: string; found: boolean }> = [];
    const reader = (async () => {
      while (rebuilding) {
        const collection = await readers.collection('trips');
        observed.push({ collection, found: (await db.collection(collection).findOne({ _id: seeded[0]! as never })) !== null });
      }
    })();
    const samples: ProgressSample[] = [];
    const result = await rebuildProjection(nats, db, 'trip-history', { consumer, maxBatch: 20, takeoverTimeoutMs: 30_000, onProgress: (s) => samples.push(s) });
    rebuilding = false;
    await Promise.all([appender, reader]);
    // …and after the swap, a rename reaches the new generation through the projector.
    await renamePassenger(passengerId, 'Ada Lovelace', 1);
    const afterwards = await createTrip(passengerId);

    // Then: the pointer moved, the projector took over and caught up.
    expect(result).toMatchObject({ projection: 'trip-history', from: 0, to: 1, takenOver: true });
    expect(result.events).toBeGreaterThanOrEqual(61);
    expect(await readGeneration(db, 'trip-history')).toBe(1);

    // Readers always found the trip: generation 0 until the swap, generation 1 after, never back.
    expect(observed[0]?.collection).toBe('trips');
    expect(observed.every((o) => o.found)).toBe(true);
    const names = observed.map((o) => o.collection);
    const firstNew = names.indexOf('trips__g1');
    const switched = firstNew === -1 ? [] : names.slice(firstNew);
    const before = firstNew === -1 ? names : names.slice(0, firstNew);
    expect(new Set(before)).toEqual(new Set(before.length ? ['trips'] : []));
    expect(switched.every((name) => name === 'trips__g1')).toBe(true);
    expect(await until(() => readers.collection('trips'), (name) => name === 'trips__g1')).toBe('trips__g1');

    // Nothing appended during or after the rebuild is lost, and it equals a fresh projection.
    const all = [...seeded, ...appended, afterwards].sort();
    const isDone = (docs: TripHistoryDocument[]) => docs.length === all.length && docs.every((d) => d.state === 'CONFIRMED' && d.passengerName === 'Ada Lovelace');
    const rebuilt = await until(() => tripsIn(db, 'trips__g1', all), isDone);
    expect(rebuilt.map((d) => d._id)).toEqual(all);
    const freshDatabase = freshDb();
    startProjector(freshDatabase, (await freshConsumer()).name);
    const fresh = await until(() => tripsIn(freshDatabase, 'trips', all), isDone);
    expect(rebuilt).toEqual(fresh);
    // The names are written after the trips of a batch: wait for the fresh projector's too.
    const freshNames = await until(() => freshDatabase.collection('trip_history_passenger_names').findOne({ _id: passengerId as never }), (doc) => doc !== null);
    expect(await db.collection('trip_history_passenger_names__g1').findOne({ _id: passengerId as never })).toEqual(freshNames);

    // The progress went from the replay to the takeover, counting up to its total.
    expect(samples.some((s) => s.phase === 'replaying' && s.done > 0)).toBe(true);
    expect(samples.every((s) => s.done <= s.total || s.total === 0)).toBe(true);
    expect(samples.at(-1)?.phase).toBe('waiting for the projector');

    // The old generation is retired by the projector after its grace period.
    const leftovers = async () => ({
      collections: (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((c) => !c.includes('__g') && c.startsWith('trip')),
      consumer: (await listConsumerNames(nats.jsm)).includes(consumer.name),
    });
    expect(await until(leftovers, (l) => l.collections.length === 0 && !l.consumer)).toEqual({ collections: [], consumer: false });
  });

  it('given a rebuild holds the lock, when another one starts, then it is refused and nothing moves', async () => {
    const db = freshDb();
    await db.collection<{ _id: string }>('read_model_rebuilds').insertOne({ _id: 'passengers' });
    await expect(rebuildProjection(nats, db, 'passengers', { consumer: await freshConsumer() })).rejects.toThrow(/already running/);
    expect(await readGeneration(db, 'passengers')).toBe(0);
  });

  it('given an unknown projection name, when asked for it, then the error lists the valid names', () => {
    expect(() => projectionNamed('trip')).toThrow(RebuildError);
    expect(() => projectionNamed('trip')).toThrow('Unknown projection "trip"; one of: passengers, drivers, trip-history.');
  });
});
