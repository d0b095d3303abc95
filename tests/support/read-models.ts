/**
 * The read side under load, for the projector e2e tests (crashes, partitions): a steady load of
 * renames and trip requests through the gateway, and every read model compared with a fresh
 * replay of the whole log through the pure projection code.
 */
import { replayCommits, type Delivery, type Nats } from '@happyride/eventstore';
import { DEAD_LETTERS_COLLECTION } from '@happyride/platform';
import { driversProjection, passengersProjection, type AggregateViewDocument } from '@happyride/projections';
import type { Db, Document } from 'mongodb';
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { applyInMemory, InMemoryStore, prepareInMemory, snapshot } from '../../projections/src/trips/trip-history.testing.ts';
import { tokenFor, type graphqlClient } from './graphql-client.ts';
import { newId, northOf, origin } from './trips.ts';

type Gql = ReturnType<typeof graphqlClient>;

const REGISTER_PASSENGER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id } }';
const RENAME_PASSENGER = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id } }';
const REGISTER_DRIVER = 'mutation ($name: String!) { registerDriver(input: { name: $name, vehicle: { plate: "AB-123", model: "Zoe" } }) { id } }';
const RENAME_DRIVER = 'mutation ($name: String!) { updateDriverDetails(input: { name: $name }) { id } }';
const REQUEST_TRIP = 'mutation ($start: PositionInput!, $end: PositionInput!) { requestTrip(input: { start: $start, end: $end }) { id } }';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registers 6 passengers and 3 drivers, then 4 workers keep renaming them and requesting
 * trips (answers unchecked: a conflict or a refused trip is fine, the log is the truth) until
 * `stop()`, which resolves with how many mutations were accepted.
 */
export async function startRenamesAndTrips(gql: Gql): Promise<{ stop: () => Promise<number>; accepted: () => number }> {
  const passengers = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const id = newId('p');
      const token = await tokenFor('passenger', id);
      expect((await gql(REGISTER_PASSENGER, { token, variables: { name: `${id} 0` } })).errors).toBeUndefined();
      return { id, token };
    }),
  );
  const drivers = await Promise.all(
    Array.from({ length: 3 }, async () => {
      const id = newId('d');
      const token = await tokenFor('driver', id);
      expect((await gql(REGISTER_DRIVER, { token, variables: { name: `${id} 0` } })).errors).toBeUndefined();
      return { id, token };
    }),
  );
  let loading = true;
  let accepted = 0;
  const worker = async (w: number) => {
    for (let i = 1; loading; i++) {
      const passenger = passengers[(w + i) % passengers.length]!;
      const driver = drivers[(w + i) % drivers.length]!;
      const answers = await Promise.all([
        gql(RENAME_PASSENGER, { token: passenger.token, variables: { name: `${passenger.id} ${w}.${i}` } }),
        i % 3 === 0 ? gql(RENAME_DRIVER, { token: driver.token, variables: { name: `${driver.id} ${w}.${i}` } }) : null,
        i % 4 === 0 ? gql(REQUEST_TRIP, { token: passenger.token, variables: { start: origin, end: northOf(1 + (i % 5)) } }) : null,
      ]);
      accepted += answers.filter((answer) => answer && !answer.errors).length;
      await pause(20); // pacing, not synchronisation
    }
  };
  const load = Promise.all([0, 1, 2, 3].map(worker));
  return {
    accepted: () => accepted,
    stop: async () => {
      loading = false;
      await load;
      return accepted;
    },
  };
}

/**
 * Every read model as a fresh replay of the whole log computes it, with the pure projection
 * code. With `partitions` > 1 each partition keeps its own copy of every name lookup
 * (`<id>@p<k>of<n>`), all equal to the replay's.
 */
export async function expectedReadModels(nats: Nats, partitions = 1) {
  const passengers = new Map<string, AggregateViewDocument>();
  const drivers = new Map<string, AggregateViewDocument>();
  const tripHistory = new InMemoryStore();
  prepareInMemory(tripHistory);
  const fold = (views: Map<string, AggregateViewDocument>, evolve: (doc: never, event: never) => Document | null, batch: readonly Delivery[], type: string) => {
    for (const { commit } of batch) {
      if (commit.aggregateType !== type) continue;
      for (const event of commit.events) {
        const next = evolve((views.get(event.aggregateId) ?? null) as never, event as never);
        if (next === null) views.delete(event.aggregateId);
        else views.set(event.aggregateId, { ...next, _id: event.aggregateId, version: event.version });
      }
    }
  };
  await replayCommits(nats.js, ['events.passenger.*', 'events.driver.*', 'events.trip.*', 'events.payment.*'], async (batch) => {
    fold(passengers, passengersProjection.evolve as never, batch, 'passenger');
    fold(drivers, driversProjection.evolve as never, batch, 'driver');
    applyInMemory(tripHistory, batch);
  });
  const sorted = <T extends { _id: string }>(docs: Iterable<T>) => [...docs].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  const { stats, passengerNames, driverNames, ...history } = snapshot(tripHistory);
  const { position: _position, _id: _all, ...counts } = stats;
  const perPartition = (lookups: readonly { _id: string }[]) =>
    partitions === 1 ? lookups : sorted(lookups.flatMap((lookup) => Array.from({ length: partitions }, (_, k) => ({ ...lookup, _id: `${lookup._id}@p${k}of${partitions}` }))));
  return { passengers: sorted(passengers.values()), drivers: sorted(drivers.values()), ...history, passengerNames: perPartition(passengerNames), driverNames: perPartition(driverNames), stats: counts };
}

/**
 * Every read model as the projectors left it in MongoDB (generation 0); the statistics added up
 * over the partitions' documents. Without `fence`: which lease wrote a document last is not part of what it says.
 */
export async function storedReadModels(db: Db) {
  const all = (name: string) => db.collection<{ _id: string }>(name).find({}, { projection: { fence: 0 } }).sort({ _id: 1 }).toArray();
  const parts = await db.collection<{ _id: string; total: number; byState: Record<string, number> }>('trip_stats').find({}).toArray();
  const byState: Record<string, number> = {};
  for (const part of parts) for (const [state, count] of Object.entries(part.byState)) byState[state] = (byState[state] ?? 0) + count;
  return {
    passengers: await all('passengers'),
    drivers: await all('drivers'),
    trips: await all('trips'),
    passengerNames: await all('trip_history_passenger_names'),
    driverNames: await all('trip_history_driver_names'),
    payments: await all('trip_history_payments'),
    stats: parts.length === 0 ? {} : { total: parts.reduce((sum, part) => sum + part.total, 0), byState },
  };
}

/**
 * Waits (up to 90 s) until the stored read models equal the replay of the log, then asserts
 * them field by field and that no projector parked a dead letter. The sagas may still append
 * (payments, dispatch) for the last trips: the replay is redone whenever the stream's head moved.
 */
export async function expectReadModelsToEqualReplay(nats: Nats, db: Db, { partitions = 1, minPassengers = 6 } = {}): Promise<void> {
  const head = async () => (await nats.jsm.streams.info('EVENTS')).state.last_seq;
  let replayedAt = await head();
  let expected = await expectedReadModels(nats, partitions);
  let stored = await storedReadModels(db);
  for (const deadline = Date.now() + 90_000; !isDeepStrictEqual(stored, expected) && Date.now() < deadline; ) {
    await pause(500);
    const now = await head();
    if (now !== replayedAt) {
      replayedAt = now;
      expected = await expectedReadModels(nats, partitions);
    }
    stored = await storedReadModels(db);
  }
  expect(expected.passengers.length).toBeGreaterThanOrEqual(minPassengers);
  expect(expected.trips.length).toBeGreaterThan(0);
  expect(stored.passengers).toEqual(expected.passengers);
  expect(stored.drivers).toEqual(expected.drivers);
  expect(stored.trips).toEqual(expected.trips);
  expect(stored.passengerNames).toEqual(expected.passengerNames);
  expect(stored.driverNames).toEqual(expected.driverNames);
  expect(stored.payments).toEqual(expected.payments);
  expect(stored.stats).toEqual(expected.stats);
  const letters = await db.collection<{ consumer: string }>(DEAD_LETTERS_COLLECTION).find({}).toArray();
  expect(letters.filter((letter) => letter.consumer.startsWith('projection-'))).toEqual([]);
}
