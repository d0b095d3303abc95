/**
 * `npm run bench:scale:replay`: the trip-history replay of issue 15 with 1, 2 and 4 partitions.
 * Appends a generated history (`bench/history.ts`; ≥ 100k events at the default `--trips
 * 12000`) to a fresh event log once, in chunks, with no projector running; then, for each
 * partition count P in `--partitions` (default 1,2,4), starts P projector processes
 * (`PROJECTION_PARTITIONS=P`, the launcher of `npm start`, nothing else) on a fresh database
 * and fresh consumers, and times them replaying the whole log until every partition of every
 * read model has nothing pending. Reports events/s and each process's CPU seconds over the
 * replay (utime + stime from `/proc/<pid>/stat`: each projector, FerretDB, nats-server), and
 * writes key `replay` of bench/results/scale.json (read-modify-write: `appends` is another
 * bench's). A replay that makes no progress for `--stall-seconds` is reported as stalled.
 */
import { connectNats, EVENTS_STREAM, JetStreamEventStore, leaseHolder } from '@happyride/eventstore';
import { startLocalServers } from '@happyride/local-servers';
import { MongoClient } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { allServices, startSystem } from '../scripts/system.ts';
import { appendHistory, generateHistory } from './history.ts';
import { localServerPids, processStat } from './processes.ts';
import { round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    trips: { type: 'string', default: '12000' },
    partitions: { type: 'string', default: '1,2,4' },
    'stall-seconds': { type: 'string', default: '120' },
    logs: { type: 'boolean', default: false },
  },
});
const tripCount = Number(values.trips);
const partitionCounts = values.partitions.split(',').map(Number);
const stallMs = Number(values['stall-seconds']) * 1000;
const shape = { tripCount, passengerCount: Math.max(10, Math.round(tripCount / 12)), driverCount: Math.max(5, Math.round(tripCount / 40)), window: 40 };
const CHUNK = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const servers = await startLocalServers({ log: () => {} });
const nats = await connectNats(servers.natsUrl, 'bench-scale-replay');
const history = generateHistory(shape);
const eventCount = history.reduce((n, commit) => n + commit.events.length, 0);
const tripEvents = history.filter((commit) => commit.aggregateType === 'trip').reduce((n, commit) => n + commit.events.length, 0);
const store = new JetStreamEventStore(nats.js, nats.jsm);
{
  // The stream and its bucket first (the launcher's bootstrap step does the same again later).
  const { bootstrapEventLog } = await import('@happyride/eventstore');
  await bootstrapEventLog(nats.jsm);
  const t0 = performance.now();
  for (let i = 0; i < history.length; i += CHUNK) await appendHistory(store, history.slice(i, i + CHUNK), 'bench-scale-replay');
  console.log(`appended ${history.length} commits (${eventCount} events, ${tripEvents} trip events, ${tripCount} trips) in ${round((performance.now() - t0) / 1000, 1)} s`);
}
const head = (await nats.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
const servicesButProjector = allServices.map((service) => service.name).filter((name) => name !== 'projector');

/** The projection consumers (every partition, every generation): deleted before each run, so each replays from the start. */
async function deleteProjectionConsumers() {
  const names: string[] = [];
  for await (const consumer of nats.jsm.consumers.list(EVENTS_STREAM)) if (consumer.name.startsWith('projection-')) names.push(consumer.name);
  for (const name of names) await nats.jsm.consumers.delete(EVENTS_STREAM, name);
}

/** Pending of every projection consumer of `partitions` (missing ones: the whole log). */
async function behind(partitions: number): Promise<number> {
  let total = 0;
  let seen = 0;
  for await (const consumer of nats.jsm.consumers.list(EVENTS_STREAM)) {
    if (!consumer.name.startsWith('projection-') || (partitions > 1 && !/-p\d+of\d+$/.test(consumer.name))) continue;
    seen++;
    total += consumer.num_pending + consumer.num_ack_pending;
  }
  return total + Math.max(0, 3 * partitions - seen) * head;
}

interface Run {
  partitions: number;
  projectorProcesses: number;
  seconds: number | null;
  eventsPerSecond: number | null;
  tripEventsPerSecond: number | null;
  stalled: boolean;
  cpuSeconds: Record<string, number>;
}

const runs: Run[] = [];
for (const partitions of partitionCounts) {
  await deleteProjectionConsumers();
  const database = `bench_scale_${partitions}_${randomUUID().slice(0, 6)}`;
  const system = await startSystem({
    natsUrl: servers.natsUrl,
    mongoUrl: servers.mongoUrl,
    ports: 'free',
    without: servicesButProjector,
    replicas: { projector: partitions },
    env: { MONGODB_DATABASE: database, LOG_LEVEL: 'warn', PROJECTION_PARTITIONS: String(partitions) },
    ...(values.logs ? { onLine: (service: string, line: string) => console.error(`[${service}] ${line}`) } : {}),
  });
  // The projectors are up (ready: consuming or standing by); timing starts now, when they all apply.
  const projectors = Array.from({ length: partitions }, (_, i) => (i === 0 ? 'projector' : `projector-${i + 1}`));
  const pids = new Map<string, number>(projectors.map((name) => [name, system.pid(name)!]));
  for (const [name, pid] of localServerPids()) pids.set(name, pid);
  const before = new Map([...pids].map(([name, pid]) => [name, processStat(pid)?.cpuMs ?? NaN]));
  const t0 = performance.now();
  let last = await behind(partitions);
  let progressAt = performance.now();
  let stalled = false;
  while (last > 0) {
    await sleep(500);
    const now = await behind(partitions);
    if (now < last) progressAt = performance.now();
    last = now;
    if (performance.now() - progressAt > stallMs) {
      stalled = true;
      console.log(`P=${partitions}: no progress for ${stallMs / 1000} s with ${now} deliveries left: stalled`);
      // Does the database still answer a newcomer? (A stall on FerretDB's side, or the projectors'.)
      const probe = new MongoClient(servers.mongoUrl, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 5_000 });
      const t1 = performance.now();
      const answer = await probe
        .db(database)
        .collection('trips')
        .countDocuments()
        .then((n) => `${n} trips, in ${Math.round(performance.now() - t1)} ms`, (error: unknown) => `no answer: ${String(error)}`);
      await probe.close().catch(() => {});
      console.log(`  the database to a new client: ${answer}`);
      for await (const consumer of nats.jsm.consumers.list(EVENTS_STREAM)) {
        if (!consumer.name.startsWith('projection-')) continue;
        const holder = await leaseHolder(nats.js, consumer.name).catch(() => null);
        console.log(`  ${consumer.name}: pending ${consumer.num_pending}, awaiting ack ${consumer.num_ack_pending}, ack floor ${consumer.ack_floor.stream_seq}, lease ${holder ?? 'free'}`);
      }
      break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = Object.fromEntries([...pids].map(([name, pid]) => [name, round(((processStat(pid)?.cpuMs ?? NaN) - before.get(name)!) / 1000, 1)]));
  await system.stop();
  const run: Run = {
    partitions,
    projectorProcesses: partitions,
    seconds: stalled ? null : round(seconds, 1),
    eventsPerSecond: stalled ? null : Math.round(eventCount / seconds),
    tripEventsPerSecond: stalled ? null : Math.round(tripEvents / seconds),
    stalled,
    cpuSeconds,
  };
  runs.push(run);
  console.log(`P=${partitions}: ${run.seconds ?? 'stalled'} s, ${run.eventsPerSecond ?? '-'} events/s; CPU s ${JSON.stringify(cpuSeconds)}`);
}

const resultsFile = new URL('./results/scale.json', import.meta.url);
const previous: Record<string, unknown> = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
const file = writeResults('scale', {
  ...previous,
  replay: {
    measuredAt: new Date().toISOString(),
    command: `npm run bench:scale:replay -- --trips ${tripCount} --partitions ${partitionCounts.join(',')}`,
    server: 'embedded FerretDB v1.24.2 (SQLite) and one nats-server, on this machine',
    cores: (await import('node:os')).availableParallelism(),
    node: process.version,
    history: { trips: tripCount, commits: history.length, events: eventCount, tripEvents },
    runs,
  },
});
console.log(`written to ${file}`);
await nats.close();
await servers.stop();
