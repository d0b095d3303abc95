/**
 * The read side heals itself (issue 12): the projector is killed with SIGKILL at random
 * moments, again and again, while renames and trips keep coming through the real gateway, and
 * started again after 0–5 s. Afterwards every read model (passengers, drivers, trip history)
 * must equal a fresh replay of the whole log through the pure projection code, with no dead
 * letter parked. Random moments come from a seeded generator (`PROJECTOR_CRASH_SEED` to replay
 * a run); the seed is printed.
 */
import { connectNats, consumerDefinitions, leaseHolder, replayCommits, type Delivery, type Nats } from '@happyride/eventstore';
import { connectMongo, DEAD_LETTERS_COLLECTION, type Mongo } from '@happyride/platform';
import { driversProjection, passengersProjection, type AggregateViewDocument } from '@happyride/projections';
import type { Document } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyInMemory, InMemoryStore, prepareInMemory, snapshot } from '../../projections/src/trips/trip-history.testing.ts';
import { graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { startTestSystem } from '../support/system.ts';
import { newId, northOf, origin } from '../support/trips.ts';

const database = `e2e_projector_crashes_${randomUUID().slice(0, 8)}`;
const seed = Number(process.env['PROJECTOR_CRASH_SEED'] ?? Date.now() % 1_000_000);
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let mongo: Mongo;

beforeAll(async () => {
  // A short lease: a restarted projector relieves its killed predecessor within about 2 s.
  system = await startTestSystem({ MONGODB_DATABASE: database, PROJECTOR_LEASE_TTL_MS: '2000' });
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-projector-crashes');
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-projector-crashes');
});
afterAll(async () => {
  await system?.stop();
  await mongo?.close();
  await nats?.close();
});

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const REGISTER_PASSENGER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id } }';
const RENAME_PASSENGER = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id } }';
const REGISTER_DRIVER = 'mutation ($name: String!) { registerDriver(input: { name: $name, vehicle: { plate: "AB-123", model: "Zoe" } }) { id } }';
const RENAME_DRIVER = 'mutation ($name: String!) { updateDriverDetails(input: { name: $name }) { id } }';
const REQUEST_TRIP = 'mutation ($start: PositionInput!, $end: PositionInput!) { requestTrip(input: { start: $start, end: $end }) { id } }';

/** Every read model as a fresh replay of the whole log computes it, with the pure projection code. */
async function expectedReadModels() {
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
  const sorted = (views: Map<string, AggregateViewDocument>) => [...views.values()].sort((a, b) => a._id.localeCompare(b._id));
  const { stats, ...history } = snapshot(tripHistory);
  const { position: _position, ...counts } = stats;
  return { passengers: sorted(passengers), drivers: sorted(drivers), ...history, stats: counts };
}

/** Every read model as the projector left it in MongoDB (generation 0). */
async function storedReadModels() {
  const all = (name: string) => mongo.db.collection<{ _id: string }>(name).find({}).sort({ _id: 1 }).toArray();
  const stats = await mongo.db.collection<{ _id: string; position?: number }>('trip_stats').findOne({ _id: 'all' });
  const { position: _position, ...counts } = stats ?? { _id: 'none' };
  return {
    passengers: await all('passengers'),
    drivers: await all('drivers'),
    trips: await all('trips'),
    passengerNames: await all('trip_history_passenger_names'),
    driverNames: await all('trip_history_driver_names'),
    payments: await all('trip_history_payments'),
    stats: counts,
  };
}

describe('projector killed with SIGKILL under load', () => {
  it('given renames and trips through the gateway, when the projector is killed 10 times at random moments and restarted after 0–5 s, then every read model equals a fresh replay of the log and nothing is dead-lettered', { timeout: 600_000 }, async () => {
    const next = random(seed);
    console.info(`projector crash test seed: ${seed} (PROJECTOR_CRASH_SEED)`);

    // Given: passengers and drivers, then a steady load of renames and trip requests.
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
        // Answers are not checked: a conflict or a refused trip is fine, the log is the truth.
        const answers = await Promise.all([
          gql(RENAME_PASSENGER, { token: passenger.token, variables: { name: `${passenger.id} ${w}.${i}` } }),
          i % 3 === 0 ? gql(RENAME_DRIVER, { token: driver.token, variables: { name: `${driver.id} ${w}.${i}` } }) : null,
          i % 4 === 0 ? gql(REQUEST_TRIP, { token: passenger.token, variables: { start: origin, end: northOf(1 + (i % 5)) } }) : null,
        ]);
        accepted += answers.filter((answer) => answer && !answer.errors).length;
        await sleep(20);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));

    // When: ten kills at random moments while the projector applies, each followed by a restart after 0–5 s.
    const projectorKeys = [consumerDefinitions.passengersProjection.name, consumerDefinitions.driversProjection.name, consumerDefinitions.tripHistoryProjection.name];
    const holders = async () => Promise.all(projectorKeys.map((key) => leaseHolder(nats.js, key)));
    let killed: (string | null)[] = [null, null, null];
    for (let kill = 0; kill < 10; kill++) {
      // The (re)started projector has relieved the killed one of every lease: it applies.
      const active = await holders();
      for (let wait = 0; active.some((holder, i) => holder === null || holder === killed[i]); wait++) {
        if (wait > 600) throw new Error(`the restarted projector never took the leases over: ${JSON.stringify(active)}`);
        await sleep(100);
        active.splice(0, 3, ...(await holders()));
      }
      await sleep(300 + next() * 2_500);
      killed = active;
      await system.kill('projector', 'SIGKILL');
      await sleep(next() * 5_000);
      await system.restart('projector');
    }
    await sleep(1_000);
    loading = false;
    await load;
    expect(accepted).toBeGreaterThan(100);

    // Then: the read models converge to the replay of the log, field by field. The sagas may
    // still append (payments, dispatch) for the last trips: the replay is redone whenever the
    // stream's head moved.
    const head = async () => (await nats.jsm.streams.info('EVENTS')).state.last_seq;
    let replayedAt = await head();
    let expected = await expectedReadModels();
    let stored = await storedReadModels();
    for (const deadline = Date.now() + 90_000; !isDeepStrictEqual(stored, expected) && Date.now() < deadline; ) {
      await sleep(500);
      const now = await head();
      if (now !== replayedAt) {
        replayedAt = now;
        expected = await expectedReadModels();
      }
      stored = await storedReadModels();
    }
    expect(expected.passengers.length).toBeGreaterThanOrEqual(6);
    expect(expected.trips.length).toBeGreaterThan(0);
    expect(stored.passengers).toEqual(expected.passengers);
    expect(stored.drivers).toEqual(expected.drivers);
    expect(stored.trips).toEqual(expected.trips);
    expect(stored.passengerNames).toEqual(expected.passengerNames);
    expect(stored.driverNames).toEqual(expected.driverNames);
    expect(stored.payments).toEqual(expected.payments);
    expect(stored.stats).toEqual(expected.stats);
    const letters = await mongo.db.collection<{ consumer: string }>(DEAD_LETTERS_COLLECTION).find({}).toArray();
    expect(letters.filter((letter) => letter.consumer.startsWith('projection-'))).toEqual([]);
  });
});
