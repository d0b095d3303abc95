/**
 * `npm run bench:projections`: replays a generated history (≥ 100k events: trips with their
 * dispatch, passengers and drivers renamed along the way) through the trip-history projector's
 * batch apply into a fresh database on the MongoDB-wire server, then bulk-upserts the same final
 * documents into fresh collections, in alternating rounds. Reports replay events/s, raw docs/s
 * and ratio = raw seconds / replay seconds (1.0: replaying is as fast as writing the result);
 * writes bench/results/projections.json. No NATS: batches go straight to the apply function.
 */
import type { DriverEvent, PassengerEvent, TripEvent } from '@happyride/domain';
import { envelop, type Commit, type Delivery } from '@happyride/eventstore';
import { startLocalServers } from '@happyride/local-servers';
import { applyTripHistoryBatch, DRIVER_NAMES, PASSENGER_NAMES, prepareTripHistory, TRIP_STATS, TRIPS, tripIndexes } from '@happyride/projections';
import { MongoClient, type AnyBulkWriteOperation, type Db, type Document } from 'mongodb';
import { parseArgs } from 'node:util';
import { median, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    trips: { type: 'string', default: '12000' },
    passengers: { type: 'string', default: '1000' },
    drivers: { type: 'string', default: '300' },
    window: { type: 'string', default: '40' },
    batch: { type: 'string', default: '500' },
  },
});
const rounds = Number(values.rounds);
const tripCount = Number(values.trips);
const passengerCount = Number(values.passengers);
const driverCount = Number(values.drivers);
const window = Number(values.window);
const batchSize = Number(values.batch);

/** mulberry32: a seeded generator, so every run replays the same history. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The history, as commits in stream order: every person registers first; then `window` trips
 * are in flight at any time (a trip's events sit close together, as in a live system), while
 * passengers and drivers get renamed and drivers go on and offline in between.
 */
function generateHistory(): Commit[] {
  const rnd = random(42);
  const pick = (n: number) => Math.floor(rnd() * n);
  const versions = new Map<string, number>();
  const commits: Commit[] = [];
  let clock = Date.UTC(2026, 0, 1);
  const append = <A extends 'passenger' | 'driver' | 'trip'>(type: A, id: string, event: A extends 'trip' ? TripEvent : A extends 'driver' ? DriverEvent : PassengerEvent) => {
    const version = versions.get(id) ?? 0;
    clock += 250;
    const commit = envelop(type, id, [event] as never, version, { commandId: `${id}:${version + 1}`, correlationId: 'bench', now: new Date(clock).toISOString() });
    versions.set(id, version + 1);
    commits.push(commit as Commit);
  };
  const vehicle = { plate: 'AB-123', model: 'Zoe' };
  for (let p = 0; p < passengerCount; p++) append('passenger', `p${p}`, { type: 'PassengerRegistered', data: { passengerId: `p${p}`, name: `Passenger ${p}` } });
  for (let d = 0; d < driverCount; d++) append('driver', `d${d}`, { type: 'DriverRegistered', data: { driverId: `d${d}`, name: `Driver ${d}`, vehicle } });

  type Flight = { id: string; steps: TripEvent[] };
  const flights: Flight[] = [];
  let started = 0;
  const newFlight = (): Flight => {
    const tripId = `t${started++}`;
    const passengerId = `p${pick(passengerCount)}`;
    const candidates = [...new Set([pick(driverCount), pick(driverCount), pick(driverCount)])].map((d) => `d${d}`);
    const position = { lng: 2.35, lat: 48.85 };
    const steps: TripEvent[] = [
      { type: 'TripCreated', data: { tripId, passengerId, start: position, end: { lng: 2.29, lat: 48.86 }, distanceKm: 4.9, fare: 17.8, requestedAt: new Date(clock).toISOString() } },
    ];
    const fate = rnd();
    if (fate < 0.05) return { id: tripId, steps: [...steps, { type: 'TripRejected', data: { tripId, reason: 'too far' } }] };
    steps.push({ type: 'TripConfirmed', data: { tripId } });
    if (fate < 0.1) return { id: tripId, steps: [...steps, { type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVERS_AVAILABLE' } }] };
    steps.push({ type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: candidates } });
    for (const driverId of candidates) steps.push({ type: 'DriverAcceptedTrip', data: { tripId, driverId, position, acceptedAt: new Date(clock).toISOString() } });
    if (fate < 0.15) return { id: tripId, steps: [...steps, { type: 'TripCancelled', data: { tripId, reason: 'changed my mind', cancelledBy: 'passenger' } }] };
    steps.push({ type: 'TripDriverAssigned', data: { tripId, driverId: candidates[0]! } });
    if (fate < 0.2) {
      steps.push({ type: 'TripCancellationRequested', data: { tripId, requestedBy: 'driver', reason: 'flat tyre' } });
      return { id: tripId, steps: [...steps, { type: 'TripCancelled', data: { tripId, reason: 'flat tyre', cancelledBy: 'driver' } }] };
    }
    steps.push({ type: 'TripStarted', data: { tripId, startedAt: new Date(clock).toISOString() } });
    if (fate < 0.97) steps.push({ type: 'TripFinished', data: { tripId, finishedAt: new Date(clock).toISOString() } }); // the rest are still running
    return { id: tripId, steps };
  };
  while (flights.length < window && started < tripCount) flights.push(newFlight());
  while (flights.length > 0) {
    const r = rnd();
    if (r < 0.01) {
      const p = pick(passengerCount);
      append('passenger', `p${p}`, { type: 'PassengerDetailsUpdated', data: { passengerId: `p${p}`, name: `Passenger ${p} (${commits.length})` } });
    } else if (r < 0.0105) {
      const d = pick(driverCount);
      append('driver', `d${d}`, { type: 'DriverDetailsUpdated', data: { driverId: `d${d}`, name: `Driver ${d} (${commits.length})`, vehicle } });
    } else if (r < 0.03) {
      const d = pick(driverCount);
      append('driver', `d${d}`, { type: rnd() < 0.5 ? 'DriverWentOnline' : 'DriverWentOffline', data: { driverId: `d${d}` } });
    } else {
      const index = pick(flights.length);
      const flight = flights[index]!;
      append('trip', flight.id, flight.steps.shift()!);
      if (flight.steps.length === 0) {
        if (started < tripCount) flights[index] = newFlight();
        else flights.splice(index, 1);
      }
    }
  }
  return commits;
}

const history = generateHistory();
const deliveries: Delivery[] = history.map((commit, i) => ({ commit, streamSequence: i + 1, deliveryCount: 1 }));
const eventCount = history.reduce((n, commit) => n + commit.events.length, 0);
const count = (type: string) => history.filter((commit) => commit.aggregateType === type).length;
console.log(`history: ${eventCount} events (${count('trip')} trip, ${count('passenger')} passenger, ${count('driver')} driver), ${tripCount} trips, batches of ${batchSize}`);

const servers = await startLocalServers({ log: () => {} });
const client = new MongoClient(servers.mongoUrl);
await client.connect();
const run = Date.now().toString(36);

async function replay(db: Db) {
  await prepareTripHistory(db);
  const steps: Record<string, number> = {};
  const writes: Record<string, number> = {};
  const started = performance.now();
  for (let i = 0; i < deliveries.length; i += batchSize) {
    await applyTripHistoryBatch(db, deliveries.slice(i, i + batchSize), {
      afterStep: (step, ms, written) => {
        steps[step] = (steps[step] ?? 0) + ms;
        if (written !== undefined) writes[step] = (writes[step] ?? 0) + written;
      },
    });
  }
  return { seconds: (performance.now() - started) / 1000, steps, writes };
}

/** The same final documents, upserted by id into fresh collections (indexes created first, as the projector's are). */
async function rawUpsert(db: Db, finals: Record<string, Document[]>) {
  for (const index of tripIndexes) await db.collection(TRIPS).createIndexes([index]);
  const started = performance.now();
  let docs = 0;
  for (const [collection, documents] of Object.entries(finals)) {
    for (let i = 0; i < documents.length; i += batchSize) {
      const ops: AnyBulkWriteOperation<Document>[] = documents
        .slice(i, i + batchSize)
        .map((doc) => ({ replaceOne: { filter: { _id: doc['_id'] }, replacement: doc, upsert: true } }));
      await db.collection(collection).bulkWrite(ops, { ordered: false });
      docs += ops.length;
    }
  }
  return { seconds: (performance.now() - started) / 1000, docs };
}

type Round = { replaySeconds: number; rawSeconds: number; rawDocs: number; steps: Record<string, number>; writes: Record<string, number> };
const results: Round[] = [];
for (let r = 0; r < rounds; r++) {
  const replayDb = client.db(`bench_replay_${run}_${r}`);
  const rawDb = client.db(`bench_raw_${run}_${r}`);
  // Alternate the order so neither side always runs on a warmer server.
  let replayed: Awaited<ReturnType<typeof replay>> | undefined;
  let raw: Awaited<ReturnType<typeof rawUpsert>> | undefined;
  const finals = async () => {
    const all = async (name: string) => replayDb.collection(name).find({}).toArray();
    return { [TRIPS]: await all(TRIPS), [PASSENGER_NAMES]: await all(PASSENGER_NAMES), [DRIVER_NAMES]: await all(DRIVER_NAMES), [TRIP_STATS]: await all(TRIP_STATS) };
  };
  if (r === 0 || r % 2 === 1) {
    replayed = await replay(replayDb);
    raw = await rawUpsert(rawDb, await finals());
  } else {
    // The raw side first: its documents come from the previous round's replay (identical history).
    const previous = client.db(`bench_replay_${run}_${r - 1}`);
    const docs = async (name: string) => previous.collection(name).find({}).toArray();
    raw = await rawUpsert(rawDb, { [TRIPS]: await docs(TRIPS), [PASSENGER_NAMES]: await docs(PASSENGER_NAMES), [DRIVER_NAMES]: await docs(DRIVER_NAMES), [TRIP_STATS]: await docs(TRIP_STATS) });
    replayed = await replay(replayDb);
  }
  const trips = await replayDb.collection(TRIPS).countDocuments();
  if (trips !== tripCount) throw new Error(`replay produced ${trips} trips, expected ${tripCount}`);
  results.push({ replaySeconds: replayed.seconds, rawSeconds: raw.seconds, rawDocs: raw.docs, steps: replayed.steps, writes: replayed.writes });
  console.log(
    `round ${r + 1}: replay ${round(replayed.seconds, 2)} s (${Math.round(eventCount / replayed.seconds)} events/s), raw upsert ${round(raw.seconds, 2)} s (${Math.round(raw.docs / raw.seconds)} docs/s), ratio ${round(raw.seconds / replayed.seconds)}`,
  );
  if (r >= 1) await client.db(`bench_replay_${run}_${r - 1}`).dropDatabase();
  await rawDb.dropDatabase();
}

const replaySeconds = median(results.map((r) => r.replaySeconds));
const rawSeconds = median(results.map((r) => r.rawSeconds));
const ratio = median(results.map((r) => r.rawSeconds / r.replaySeconds));
const steps = Object.fromEntries(
  Object.keys(results[0]!.steps).map((step) => [step, round(median(results.map((r) => r.steps[step] ?? 0)) / 1000, 2)]),
);
const summary = {
  events: eventCount,
  trips: tripCount,
  finalDocuments: results[0]!.rawDocs,
  replaySeconds: round(replaySeconds, 2),
  replayEventsPerSecond: Math.round(eventCount / replaySeconds),
  rawUpsertSeconds: round(rawSeconds, 2),
  rawUpsertDocsPerSecond: Math.round(results[0]!.rawDocs / rawSeconds),
  ratio: round(ratio),
  replaySecondsByStep: steps,
  /** Documents the replay wrote per collection (the same every round): the raw side writes each final document once. */
  replayWritesByCollection: results[0]!.writes,
};
console.log(`trip-history replay vs raw bulk upsert of the final documents: ${rounds} alternating rounds, medians`);
console.table([summary].map(({ replaySecondsByStep: _, replayWritesByCollection: __, ...rest }) => rest));
console.log('replay time by step (s, median):', steps);
console.log('documents written by the replay, per collection (the raw side writes each final document once):', results[0]!.writes);
if (ratio < 0.5) {
  console.log(
    'ratio below 0.5: see the steps above. `load` is one find per collection per batch by `_id`, plus, in a batch with a rename, one find of the renamed people\'s trips by `passengerId` / `driverId`; `trips` holds the inserts, the replaces of trips that span batches and the renames, one write per document: compare its count with the raw side\'s one write per final document.',
  );
}
const file = writeResults('projections', {
  benchmark: 'projections',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:projections -- --rounds ${rounds} --trips ${tripCount} --passengers ${passengerCount} --drivers ${driverCount} --window ${window} --batch ${batchSize}`,
  target: 'ratio (raw seconds / replay seconds) >= 0.5',
  server: process.env['MONGODB_URL'] ? 'external MONGODB_URL' : 'embedded FerretDB v1.24.2 (SQLite)',
  node: process.version,
  results: summary,
  rounds: results.map((r) => ({ replaySeconds: round(r.replaySeconds, 2), rawSeconds: round(r.rawSeconds, 2), ratio: round(r.rawSeconds / r.replaySeconds) })),
});
console.log(`written to ${file}`);
await client.db(`bench_replay_${run}_${rounds - 1}`).dropDatabase();
await client.close();
await servers.stop();
