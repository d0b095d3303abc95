import type { TripEvent } from '@happyride/domain';
import { bootstrapEventLog, connectNats, ensureConsumer, JetStreamEventStore, partitionConsumer, partitionOf, partitionsOf, type Delivery, type Nats } from '@happyride/eventstore';
import { connectMongo, createLogger, type Mongo } from '@happyride/platform';
import type { Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { runProjector } from '../projector.ts';
import { applyTripHistoryBatch, prepareTripHistory, tripHistoryProjector } from './trip-history-projector.ts';
import { emptyStateCounts, type NameLookupDocument, type TripHistoryDocument, type TripStatsDocument } from './trip-history.ts';

let nats: Nats;
let mongo: Mongo;
let store: JetStreamEventStore;
let db: Db;
const logger = createLogger('test', 'silent');
const now = '2026-11-23T10:00:00.000Z';
const running: Array<{ stop: AbortController; done: Promise<void> }> = [];

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'trip-history-projector-test');
  mongo = await connectMongo(inject('mongoUrl'), 'test_trip_history_unused', 'test');
  await bootstrapEventLog(nats.jsm, []);
  store = new JetStreamEventStore(nats.js, nats.jsm);
});
beforeEach(() => {
  db = mongo.client.db(`test_trips_${randomUUID().slice(0, 8)}`);
});
afterEach(async () => {
  await stopAll();
  await db.dropDatabase().catch(() => {});
});
afterAll(async () => {
  await mongo.close();
  await nats.close();
});

const run = randomUUID().slice(0, 6);
let counter = 0;
const newId = (prefix: string) => `${prefix}-${run}-${counter++}`;
const meta = () => ({ commandId: randomUUID(), correlationId: 'corr', now });
const trips = () => db.collection<TripHistoryDocument>('trips');

async function registerPassenger(id: string, name: string) {
  await store.append('passenger', id, [{ type: 'PassengerRegistered', data: { passengerId: id, name } }], 0, meta());
}
async function renamePassenger(id: string, name: string, version: number) {
  await store.append('passenger', id, [{ type: 'PassengerDetailsUpdated', data: { passengerId: id, name } }], version, meta());
}
const vehicle = { plate: 'AB-123', model: 'Zoe' };
async function registerDriver(id: string, name: string) {
  await store.append('driver', id, [{ type: 'DriverRegistered', data: { driverId: id, name, vehicle } }], 0, meta());
}
async function renameDriver(id: string, name: string, version: number) {
  await store.append('driver', id, [{ type: 'DriverDetailsUpdated', data: { driverId: id, name, vehicle } }], version, meta());
}
/** Appends trip events one command each, from `version` on; returns the trip's new version. */
async function tripEvents(tripId: string, events: TripEvent[], version = 0): Promise<number> {
  for (const event of events) await store.append('trip', tripId, [event], version++, meta());
  return version;
}
const createTrip = (tripId: string, passengerId: string) =>
  tripEvents(tripId, [
    { type: 'TripCreated', data: { tripId, passengerId, start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.29, lat: 48.86 }, distanceKm: 4.9, fare: 17.8, requestedAt: now } },
  ]);
const assignDriver = (tripId: string, driverId: string): TripEvent[] => [
  { type: 'TripConfirmed', data: { tripId } },
  { type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: [driverId] } },
  { type: 'DriverAcceptedTrip', data: { tripId, driverId, position: { lng: 2.34, lat: 48.85 }, acceptedAt: now } },
  { type: 'TripDriverAssigned', data: { tripId, driverId } },
];

/** A fresh durable consumer over trip, passenger, driver and payment events, as the bootstrap step would create. */
async function freshConsumer(): Promise<string> {
  const name = `test-trip-history-${randomUUID().slice(0, 8)}`;
  await ensureConsumer(nats.jsm, { name, description: 'test', aggregateTypes: ['trip', 'passenger', 'driver', 'payment'] });
  return name;
}

function start(consumerName: string, partition?: { index: number; count: number }) {
  const stop = new AbortController();
  const done = runProjector(nats, db, tripHistoryProjector, logger, { consumerName, signal: stop.signal, ...(partition ? { partition } : {}) });
  const handle = { stop, done };
  running.push(handle);
  return handle;
}
async function stopAll() {
  for (const { stop, done } of running.splice(0)) {
    stop.abort();
    await done;
  }
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms; last seen: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
/**
 * Waits until the consumer has nothing pending or unacknowledged. Stopping a projector then
 * leaves no fetched-but-unhandled message behind (JetStream would redeliver those only after
 * the ack wait, after newer ones).
 */
const idle = (consumerName: string, timeoutMs?: number) =>
  until(() => nats.jsm.consumers.info('EVENTS', consumerName), (info) => info.num_pending === 0 && info.num_ack_pending === 0, timeoutMs);
const tripsOf = (ids: string[]) => trips().find({ _id: { $in: ids } }).sort({ _id: 1 }).toArray();

/** The stream's deliveries for some aggregates, numbered in the order given. */
async function deliveriesFor(aggregates: Array<['passenger' | 'driver' | 'trip', string]>): Promise<Delivery[]> {
  const commits = [];
  for (const [type, id] of aggregates) commits.push(...(await store.read(type, id)).commits.values());
  return commits.map((commit, i) => ({ commit, streamSequence: i + 1, deliveryCount: 1 }));
}

async function countsByState() {
  const counts = emptyStateCounts();
  for (const trip of await trips().find({}, { projection: { state: 1 } }).toArray()) counts[trip.state]++;
  return counts;
}

describe('trip history projector on JetStream and the MongoDB-wire server', () => {
  it('given a trip projected, when its payment is created then paid, then the trip shows PAID (the stored trip updated in place)', async () => {
    const tripId = newId('t');
    await createTrip(tripId, newId('p'));
    const consumer = await freshConsumer();
    start(consumer);
    await until(() => tripsOf([tripId]), ([doc]) => doc !== undefined);

    await store.append('payment', tripId, [{ type: 'PaymentCreated', data: { paymentId: tripId, tripId, passengerId: 'p', amount: 120 } }], 0, meta());
    await store.append('payment', tripId, [{ type: 'PaymentPaid', data: { paymentId: tripId, tripId, amount: 120 } }], 1, meta());

    const [trip] = await until(() => tripsOf([tripId]), ([doc]) => doc?.paymentStatus === 'PAID');
    expect(trip).toMatchObject({ paymentStatus: 'PAID', paymentVersion: 2, version: 1 });
  });

  it('given a trip created before its passenger registers, when the projector runs, then the trip ends with the passenger name', async () => {
    const passengerId = newId('p');
    const tripId = newId('t');
    await createTrip(tripId, passengerId);
    await registerPassenger(passengerId, 'Ada');
    start(await freshConsumer());

    const [trip] = await until(() => tripsOf([tripId]), ([doc]) => doc?.passengerName === 'Ada');
    expect(trip).toMatchObject({ _id: tripId, passengerId, passengerName: 'Ada', passengerNameVersion: 1, state: 'CREATED', version: 1 });
  });

  it('given trips already projected, when their passenger is renamed, then every trip of that passenger shows the new name', async () => {
    const passengerId = newId('p');
    const ids = [newId('t'), newId('t'), newId('t')];
    await registerPassenger(passengerId, 'Grace');
    for (const id of ids) await createTrip(id, passengerId);
    start(await freshConsumer());
    await until(() => tripsOf(ids), (docs) => docs.length === 3);

    await renamePassenger(passengerId, 'Grace H.', 1);
    const docs = await until(() => tripsOf(ids), (all) => all.every((doc) => doc.passengerName === 'Grace H.'));
    expect(docs.map((doc) => [doc.passengerName, doc.passengerNameVersion])).toEqual([
      ['Grace H.', 2],
      ['Grace H.', 2],
      ['Grace H.', 2],
    ]);
    // The lookup is written after the trips (see `applyTripHistoryBatch`): a moment later.
    const lookup = await until(
      () => db.collection<NameLookupDocument>('trip_history_passenger_names').findOne({ _id: passengerId }),
      (found) => found?.version === 2,
    );
    expect(lookup).toEqual({ _id: passengerId, name: 'Grace H.', version: 2, fence: 0 });
  });

  it('given a driver assigned to a trip, when the driver is renamed afterwards, then the trip shows the new driver name', async () => {
    const [passengerId, driverId, tripId] = [newId('p'), newId('d'), newId('t')];
    await registerPassenger(passengerId, 'Linus');
    await registerDriver(driverId, 'Ayrton');
    const version = await createTrip(tripId, passengerId);
    await tripEvents(tripId, assignDriver(tripId, driverId), version);
    start(await freshConsumer());
    await until(() => tripsOf([tripId]), ([doc]) => doc?.driverName === 'Ayrton');

    await renameDriver(driverId, 'Ayrton S.', 1);
    const [trip] = await until(() => tripsOf([tripId]), ([doc]) => doc?.driverName === 'Ayrton S.');
    expect(trip).toMatchObject({ state: 'DRIVER_ASSIGNED', driverId, driverName: 'Ayrton S.', driverNameVersion: 2, candidateDriverIds: [driverId], version: 5 });
  });

  it('given a batch already applied, when it is delivered again, then nothing changes', async () => {
    const [passengerId, tripId] = [newId('p'), newId('t')];
    await createTrip(tripId, passengerId);
    await registerPassenger(passengerId, 'Margaret');
    await tripEvents(tripId, [{ type: 'TripConfirmed', data: { tripId } }], 1);
    const batch = await deliveriesFor([['trip', tripId], ['passenger', passengerId]]);
    await prepareTripHistory(db);

    expect(await applyTripHistoryBatch(db, batch)).toBe(2);
    const first = { trips: await tripsOf([tripId]), stats: await db.collection('trip_stats').findOne({}) };
    expect(await applyTripHistoryBatch(db, [...batch, ...batch])).toBe(0);
    expect({ trips: await tripsOf([tripId]), stats: await db.collection('trip_stats').findOne({}) }).toEqual(first);
    expect(first.trips[0]).toMatchObject({ passengerName: 'Margaret', state: 'CONFIRMED' });
  });

  it('given a crash after the statistics were written, when the batch is delivered again, then it ends as a clean run', async () => {
    const [passengerId, tripId] = [newId('p'), newId('t')];
    await registerPassenger(passengerId, 'Barbara');
    await createTrip(tripId, passengerId);
    await tripEvents(tripId, [{ type: 'TripRejected', data: { tripId, reason: 'too far' } }], 1);
    const batch = await deliveriesFor([['passenger', passengerId], ['trip', tripId]]);
    await prepareTripHistory(db);

    const crash = (step: string) => {
      if (step === 'trip_stats') throw new Error('crash');
    };
    await expect(applyTripHistoryBatch(db, batch, { afterStep: crash })).rejects.toThrow('crash');
    expect(await tripsOf([tripId])).toEqual([]);
    await applyTripHistoryBatch(db, batch);

    expect(await db.collection<TripStatsDocument>('trip_stats').findOne({})).toMatchObject({ total: 1, byState: { REJECTED: 1, CREATED: 0 }, position: 3 });
    expect(await tripsOf([tripId])).toMatchObject([{ state: 'REJECTED', rejectionReason: 'too far', passengerName: 'Barbara' }]);
  });

  it('given a projector stopped part-way, when events arrive while it is down and it restarts, then nothing is lost or counted twice', async () => {
    const [passengerId, driverId, first, second] = [newId('p'), newId('d'), newId('t'), newId('t')];
    const consumerName = await freshConsumer();
    await registerPassenger(passengerId, 'Name 0');
    await registerDriver(driverId, 'Driver 0');
    const firstVersion = await createTrip(first, passengerId);
    const run1 = start(consumerName);
    await until(() => tripsOf([first]), (docs) => docs.length === 1);
    await idle(consumerName);
    run1.stop.abort();
    await run1.done;

    await tripEvents(first, assignDriver(first, driverId), firstVersion);
    await createTrip(second, passengerId);
    for (let v = 1; v <= 3; v++) await renamePassenger(passengerId, `Name ${v}`, v);
    await renameDriver(driverId, 'Driver 1', 1);
    start(consumerName);
    const docs = await until(() => tripsOf([first, second]), (all) => all.length === 2 && all.every((doc) => doc.passengerName === 'Name 3') && all[0]?.driverName === 'Driver 1');
    const info = await idle(consumerName);
    await stopAll();

    expect(docs.map((doc) => [doc.state, doc.passengerName, doc.passengerNameVersion, doc.driverName])).toEqual([
      ['DRIVER_ASSIGNED', 'Name 3', 4, 'Driver 1'],
      ['CREATED', 'Name 3', 4, null],
    ]);
    expect(info.num_ack_pending).toBe(0);
    const stats = await db.collection<TripStatsDocument>('trip_stats').findOne({});
    expect(stats).toMatchObject({ total: await trips().countDocuments(), byState: await countsByState() });
  });

  it('given trips in several states, when the projector has caught up, then the statistics equal the counts of trips by state', { timeout: 150_000 }, async () => {
    const [passengerId, driverId] = [newId('p'), newId('d')];
    await registerPassenger(passengerId, 'Ada');
    await registerDriver(driverId, 'Ayrton');
    const ids = [newId('t'), newId('t'), newId('t'), newId('t')];
    for (const id of ids) await createTrip(id, passengerId);
    await tripEvents(ids[1]!, [{ type: 'TripConfirmed', data: { tripId: ids[1]! } }], 1);
    await tripEvents(ids[2]!, [{ type: 'TripCancelled', data: { tripId: ids[2]!, reason: 'no', cancelledBy: 'passenger' } }], 1);
    const v = await tripEvents(ids[3]!, assignDriver(ids[3]!, driverId), 1);
    await tripEvents(ids[3]!, [{ type: 'TripStarted', data: { tripId: ids[3]!, startedAt: now } }, { type: 'TripFinished', data: { tripId: ids[3]!, finishedAt: now } }], v);
    const consumerName = await freshConsumer();
    start(consumerName);
    await until(() => tripsOf(ids), (docs) => docs.length === 4 && docs.some((doc) => doc.state === 'FINISHED'), 60_000);
    // A fresh consumer replays the whole shared stream (every int spec's events): give it time.
    await idle(consumerName, 60_000);
    await stopAll(); // a stopped projector has written every batch whole

    const stats = await db.collection<TripStatsDocument>('trip_stats').findOne({});
    const counts = await countsByState();
    expect(stats).toMatchObject({ total: await trips().countDocuments(), byState: counts });
    expect(counts.FINISHED).toBeGreaterThanOrEqual(1);
    expect(await db.collection('trips').listIndexes().toArray()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: { passengerId: 1, createdAt: -1, _id: -1 } }),
        expect.objectContaining({ key: { driverId: 1, createdAt: -1, _id: -1 } }),
        expect.objectContaining({ key: { state: 1, createdAt: -1, _id: -1 } }),
        expect.objectContaining({ key: { createdAt: -1, _id: -1 } }),
      ]),
    );
  });

  it('given trips of one passenger in both of 2 partitions, when each partition has its projector and the passenger is renamed, then every trip shows the new name and the statistics add up', async () => {
    const passengerId = newId('p');
    await registerPassenger(passengerId, 'Ada');
    const ids: string[] = [];
    while (new Set(ids.map((id) => partitionOf(id, 2))).size < 2 || ids.length < 4) ids.push(newId('t'));
    for (const id of ids) await createTrip(id, passengerId);
    const base = `test-trip-history-${randomUUID().slice(0, 8)}`;
    const parts = partitionsOf(2).map((partition) => ({ partition, consumer: partitionConsumer(base, partition) }));
    for (const { consumer } of parts) await ensureConsumer(nats.jsm, { name: consumer, description: 'test', aggregateTypes: ['trip', 'passenger', 'driver', 'payment'] });
    for (const { partition, consumer } of parts) start(consumer, partition);
    await until(() => tripsOf(ids), (docs) => docs.length === ids.length);

    await renamePassenger(passengerId, 'Ada L.', 1);
    const docs = await until(() => tripsOf(ids), (all) => all.every((doc) => doc.passengerName === 'Ada L.'));
    for (const { consumer } of parts) await idle(consumer);
    await stopAll();

    expect(docs.map((doc) => doc.passengerNameVersion)).toEqual(ids.map(() => 2));
    const stats = await db.collection<TripStatsDocument>('trip_stats').find({}).sort({ _id: 1 }).toArray();
    expect(stats.map((part) => part._id)).toEqual(['p0of2', 'p1of2']);
    // The stream holds the other tests' trips too: each partition counts exactly the stored trips it owns.
    const stored = (await trips().find({}, { projection: { _id: 1 } }).toArray()).map((trip) => trip._id);
    expect(stats.map((part) => part.total)).toEqual([0, 1].map((index) => stored.filter((id) => partitionOf(id, 2) === index).length));
    const lookups = await db
      .collection<NameLookupDocument>('trip_history_passenger_names')
      .find({ _id: { $in: [`${passengerId}@p0of2`, `${passengerId}@p1of2`] } })
      .sort({ _id: 1 })
      .toArray();
    expect(lookups).toEqual([
      { _id: `${passengerId}@p0of2`, name: 'Ada L.', version: 2, fence: 0 },
      { _id: `${passengerId}@p1of2`, name: 'Ada L.', version: 2, fence: 0 },
    ]);
  });
});
