/**
 * `npm run bench:projections`: replays a generated history (≥ 100k events: trips with their
 * dispatch, passengers and drivers renamed along the way) through the trip-history projector's
 * batch apply into a fresh database on the MongoDB-wire server, then bulk-upserts the same final
 * documents into fresh collections, in alternating rounds. Reports replay events/s, raw docs/s
 * and ratio = raw seconds / replay seconds (1.0: replaying is as fast as writing the result);
 * writes bench/results/projections.json. No NATS: batches go straight to the apply function,
 * cut as the projector's consumer cuts them far behind the head (`batchLimit`: `--catch-up`
 * commits per batch, the projector's default, while more than `--batch` are pending).
 */
import { batchLimit, type Delivery } from '@happyride/eventstore';
import { startLocalServers } from '@happyride/local-servers';
import { applyTripHistoryBatch, DRIVER_NAMES, PASSENGER_NAMES, prepareTripHistory, PROJECTOR_CATCH_UP_BATCH, TRIP_STATS, TRIPS, tripIndexes } from '@happyride/projections';
import { MongoClient, type AnyBulkWriteOperation, type Db, type Document } from 'mongodb';
import { parseArgs } from 'node:util';
import { generateHistory } from './history.ts';
import { localServerPids, processStat } from './processes.ts';
import { median, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    trips: { type: 'string', default: '12000' },
    passengers: { type: 'string', default: '1000' },
    drivers: { type: 'string', default: '300' },
    window: { type: 'string', default: '40' },
    batch: { type: 'string', default: '500' },
    'catch-up': { type: 'string', default: String(PROJECTOR_CATCH_UP_BATCH) },
  },
});
const rounds = Number(values.rounds);
const tripCount = Number(values.trips);
const passengerCount = Number(values.passengers);
const driverCount = Number(values.drivers);
const window = Number(values.window);
const batchSize = Number(values.batch);
const catchUpBatch = Number(values['catch-up']);

const history = generateHistory({ tripCount, passengerCount, driverCount, window });
const deliveries: Delivery[] = history.map((commit, i) => ({ commit, streamSequence: i + 1, deliveryCount: 1 }));
const eventCount = history.reduce((n, commit) => n + commit.events.length, 0);
const count = (type: string) => history.filter((commit) => commit.aggregateType === type).length;
console.log(
  `history: ${eventCount} events (${count('trip')} trip, ${count('passenger')} passenger, ${count('driver')} driver), ${tripCount} trips, batches of ${catchUpBatch} while more than ${batchSize} are pending`,
);

const servers = await startLocalServers({ log: () => {} });
const client = new MongoClient(servers.mongoUrl);
await client.connect();
const run = Date.now().toString(36);
const ferretdb = localServerPids().get('ferretdb');

/** CPU ms so far of this process and FerretDB (the work both sides do, steadier than wall time on a busy machine). */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000 + (ferretdb === undefined ? 0 : (processStat(ferretdb)?.cpuMs ?? 0));
}

async function replay(db: Db) {
  await prepareTripHistory(db);
  const steps: Record<string, number> = {};
  const writes: Record<string, number> = {};
  const cpu = cpuMs();
  const started = performance.now();
  for (let i = 0, size = 0; i < deliveries.length; i += size) {
    size = batchLimit({ inHand: 0, buffered: 0, onServer: deliveries.length - i }, { atHead: batchSize, behind: catchUpBatch });
    await applyTripHistoryBatch(db, deliveries.slice(i, i + size), {
      afterStep: (step, ms, written) => {
        steps[step] = (steps[step] ?? 0) + ms;
        if (written !== undefined) writes[step] = (writes[step] ?? 0) + written;
      },
    });
  }
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpuMs() - cpu) / 1000, steps, writes };
}

/** The same final documents, upserted by id into fresh collections (indexes created first, as the projector's are). */
async function rawUpsert(db: Db, finals: Record<string, Document[]>) {
  for (const index of tripIndexes) await db.collection(TRIPS).createIndexes([index]);
  const cpu = cpuMs();
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
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpuMs() - cpu) / 1000, docs };
}

type Round = { replaySeconds: number; rawSeconds: number; replayCpuSeconds: number; rawCpuSeconds: number; rawDocs: number; steps: Record<string, number>; writes: Record<string, number> };
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
  results.push({ replaySeconds: replayed.seconds, rawSeconds: raw.seconds, replayCpuSeconds: replayed.cpuSeconds, rawCpuSeconds: raw.cpuSeconds, rawDocs: raw.docs, steps: replayed.steps, writes: replayed.writes });
  console.log(
    `round ${r + 1}: replay ${round(replayed.seconds, 2)} s (${Math.round(eventCount / replayed.seconds)} events/s), raw upsert ${round(raw.seconds, 2)} s (${Math.round(raw.docs / raw.seconds)} docs/s), ratio ${round(raw.seconds / replayed.seconds)}; CPU (bench + FerretDB) replay ${round(replayed.cpuSeconds, 2)} s, raw ${round(raw.cpuSeconds, 2)} s, ratio ${round(raw.cpuSeconds / replayed.cpuSeconds)}`,
  );
  if (r >= 1) await client.db(`bench_replay_${run}_${r - 1}`).dropDatabase();
  await rawDb.dropDatabase();
}

const replaySeconds = median(results.map((r) => r.replaySeconds));
const rawSeconds = median(results.map((r) => r.rawSeconds));
const ratio = median(results.map((r) => r.rawSeconds / r.replaySeconds));
const cpuRatio = median(results.map((r) => r.rawCpuSeconds / r.replayCpuSeconds));
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
  /** CPU seconds of this process and FerretDB: raw / replay, median of the rounds. */
  replayCpuSeconds: round(median(results.map((r) => r.replayCpuSeconds)), 2),
  rawUpsertCpuSeconds: round(median(results.map((r) => r.rawCpuSeconds)), 2),
  cpuRatio: round(cpuRatio),
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
  command: `npm run bench:projections -- --rounds ${rounds} --trips ${tripCount} --passengers ${passengerCount} --drivers ${driverCount} --window ${window} --batch ${batchSize} --catch-up ${catchUpBatch}`,
  target: 'ratio (raw seconds / replay seconds) >= 0.5',
  server: process.env['MONGODB_URL'] ? 'external MONGODB_URL' : 'embedded FerretDB v1.24.2 (SQLite)',
  node: process.version,
  results: summary,
  rounds: results.map((r) => ({
    replaySeconds: round(r.replaySeconds, 2),
    rawSeconds: round(r.rawSeconds, 2),
    ratio: round(r.rawSeconds / r.replaySeconds),
    replayCpuSeconds: round(r.replayCpuSeconds, 2),
    rawCpuSeconds: round(r.rawCpuSeconds, 2),
    cpuRatio: round(r.rawCpuSeconds / r.replayCpuSeconds),
  })),
});
console.log(`written to ${file}`);
await client.db(`bench_replay_${run}_${rounds - 1}`).dropDatabase();
await client.close();
await servers.stop();
