/**
 * `npm run bench:idle`: what the whole system costs when nobody uses it. Starts the local servers
 * and every service but the saga worker (the launcher of `npm start`), appends the generated
 * history of `bench:projections` (`--trips` trips) to the event log in chunks the projectors
 * follow, then starts the saga worker with its consumers after that history (as `startAt: 'new'`
 * does: sagas do not re-run old trips) and writes what the sagas would have left of those trips
 * (one ended trip-creation and dispatch instance per trip, with transitions and fired
 * deadlines). Lets the system settle, then reads each process's CPU time (utime + stime from
 * `/proc/<pid>/stat`) over `--windows` windows of `--seconds`: every service, FerretDB and
 * nats-server. Prints CPU ms per second per process (median of the windows); writes
 * bench/results/idle.json.
 */
import { connectNats, consumerDefinitions, createConsumerFrom, EVENTS_STREAM, JetStreamEventStore, type Commit, type ConsumerDefinition } from '@happyride/eventstore';
import { startLocalServers } from '@happyride/local-servers';
import { checkDeadline, DISPATCH_SAGA, dispatchSagaId, PAYMENT_TIMEOUT, TRIP_CREATION_SAGA, tripCreationSagaId, type SagaDeadlineDocument, type SagaInstanceDocument, type SagaTransitionDocument } from '@happyride/sagas';
import { MongoClient, type Db } from 'mongodb';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { allServices, freePort, serviceArguments, startSystem } from '../scripts/system.ts';
import { appendHistory, generateHistory } from './history.ts';
import { localServerPids, processStat } from './processes.ts';
import { median, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    trips: { type: 'string', default: '12000' },
    settle: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    windows: { type: 'string', default: '3' },
    /** Prints what the services log (warnings and errors). */
    logs: { type: 'boolean', default: false },
  },
});
const tripCount = Number(values.trips);
const settleSeconds = Number(values.settle);
const seconds = Number(values.seconds);
const windows = Number(values.windows);
const shape = { tripCount, passengerCount: Math.max(10, Math.round(tripCount / 12)), driverCount: Math.max(5, Math.round(tripCount / 40)), window: 40 };
const TARGET_MS_PER_S = 20;
/** Commits appended before waiting for the projector to catch up. */
const CHUNK = 5_000;

/** What the sagas leave behind per finished trip: an ended instance, its transitions, its fired deadlines. */
async function seedSagaHistory(db: Db, commits: readonly Commit[]) {
  const instances: SagaInstanceDocument[] = [];
  const transitions: SagaTransitionDocument[] = [];
  const deadlines: SagaDeadlineDocument[] = [];
  for (const commit of commits) {
    const created = commit.events.find((event) => event.type === 'TripCreated');
    if (!created || created.type !== 'TripCreated') continue;
    const at = new Date(created.occurredAt);
    const { tripId, passengerId } = created.data;
    for (const [saga, sagaId, deadline] of [
      [TRIP_CREATION_SAGA, tripCreationSagaId(tripId), PAYMENT_TIMEOUT],
      [DISPATCH_SAGA, dispatchSagaId(tripId), checkDeadline(1)],
    ] as const) {
      const doc: SagaInstanceDocument = {
        _id: sagaId,
        saga,
        state: { status: 'ENDED', tripId, passengerId },
        associations: [tripId],
        handledInputs: [`${tripId}:1:0`, `${tripId}:2:0`, `${tripId}:3:0`],
        ended: true,
        version: 3,
        pending: [],
        pendingDeadlines: [],
        hasPending: false,
        pendingOf: null,
        liveKeys: null,
        correlationId: 'bench-idle',
        startedAt: at,
        updatedAt: at,
      };
      instances.push(doc);
      for (let version = 1; version <= 3; version++) transitions.push({ _id: `${sagaId}:${version}`, sagaId, version, doc: { ...doc, version } });
      deadlines.push({ _id: `${sagaId}:${deadline}`, saga, sagaId, name: deadline, dueAt: at, claimedBy: 'bench', claimedAt: at, firedAt: at, firedBy: 'bench', armedOf: null });
    }
  }
  const insert = async <T extends { _id: string }>(name: string, docs: T[]) => {
    for (let i = 0; i < docs.length; i += 500) await db.collection<T>(name).insertMany(docs.slice(i, i + 500) as never, { ordered: false });
  };
  await insert('saga_instances', instances);
  await insert('saga_transitions', transitions);
  await insert('saga_deadlines', deadlines);
  return instances.length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const servers = await startLocalServers({ log: () => {} });
const database = `bench_idle_${randomUUID().slice(0, 6)}`;
const nats = await connectNats(servers.natsUrl, 'bench-idle');
const mongo = new MongoClient(servers.mongoUrl);
const db = mongo.db(database);
const env = { MONGODB_DATABASE: database, LOG_LEVEL: 'warn' };
const onLine = values.logs ? { onLine: (service: string, line: string) => console.error(`[${service}] ${line}`) } : {};
const sagaConsumers: readonly ConsumerDefinition[] = [consumerDefinitions.tripCreationSaga, consumerDefinitions.dispatchSaga];

/** Resolves once no consumer but the sagas' has anything pending or unacknowledged. */
async function caughtUp(limitMs = 15 * 60_000) {
  const started = performance.now();
  for (;;) {
    const behind: string[] = [];
    for await (const consumer of nats.jsm.consumers.list(EVENTS_STREAM)) {
      if (sagaConsumers.some((definition) => definition.name === consumer.name)) continue;
      if (consumer.num_pending > 0 || consumer.num_ack_pending > 0) behind.push(`${consumer.name}: ${consumer.num_pending + consumer.num_ack_pending}`);
    }
    if (behind.length === 0) return;
    if (performance.now() - started > limitMs) throw new Error(`not caught up after ${limitMs / 1000} s: ${behind.join(', ')}`);
    await sleep(500);
  }
}

// Given: the system without the saga worker, and the history appended as it runs, in chunks the
// projector follows (catching up on all of it at once from scratch stalled the projector on
// FerretDB v1: see the report of issue 14) ...
const history = generateHistory(shape);
const eventCount = history.reduce((n, commit) => n + commit.events.length, 0);
// Minutes, not the launcher's minute: every service compiles its sources with tsx at once, on a loaded machine.
const system = await startSystem({ natsUrl: servers.natsUrl, mongoUrl: servers.mongoUrl, ports: 'free', env, without: ['saga-worker'], readyTimeoutMs: 300_000, ...onLine });
const started = performance.now();
// A generous bound: on the loaded shared machine an append of the 256 in flight took over the 5 s default.
const store = new JetStreamEventStore(nats.js, nats.jsm, { timeoutMs: 60_000 });
for (let i = 0; i < history.length; i += CHUNK) {
  await appendHistory(store, history.slice(i, i + CHUNK), 'bench-idle');
  await caughtUp();
}
console.log(`appended ${history.length} commits (${eventCount} events, ${tripCount} trips) and projected them in ${round((performance.now() - started) / 1000, 1)} s`);
// ... then the saga worker, its consumers starting after the history (as `startAt: 'new'` does
// in production: sagas do not re-run old trips) ...
const head = (await nats.jsm.streams.info(EVENTS_STREAM)).state.last_seq;
for (const definition of sagaConsumers) await createConsumerFrom(nats.jsm, definition, definition.name, head + 1);
// (`startSystem` always starts a gateway: the worker is spawned here the way it spawns it.)
const sagaService = allServices.find((service) => service.name === 'saga-worker')!;
const sagaPort = await freePort();
const sagaWorker = spawn(process.execPath, serviceArguments(sagaService), {
  cwd: new URL('../', import.meta.url),
  env: { ...process.env, NATS_URL: servers.natsUrl, MONGODB_URL: servers.mongoUrl, ...env, SAGA_WORKER_METRICS_PORT: String(sagaPort) },
  stdio: ['ignore', values.logs ? 'inherit' : 'ignore', values.logs ? 'inherit' : 'ignore'],
});
for (const until = performance.now() + 120_000; ; ) {
  const ready = await fetch(`http://127.0.0.1:${sagaPort}/ready`).then((response) => response.ok, () => false);
  if (ready) break;
  if (performance.now() > until) throw new Error('the saga worker did not get ready within 120 s');
  await sleep(250);
}
// ... and its stores holding what the sagas left of those trips.
const sagaInstances = await seedSagaHistory(db, history);
console.log(`seeded ${sagaInstances} ended saga instances; settling for ${settleSeconds} s`);
await mongo.close();
await nats.close();
await sleep(settleSeconds * 1000);

// Then: CPU per process over each window.
const services = allServices.map((service) => service.name);
const pids = new Map<string, number>();
for (const name of services) {
  const pid = name === 'saga-worker' ? sagaWorker.pid : system.pid(name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  pids.set(name, pid);
}
for (const [name, pid] of localServerPids(new Set(pids.values()))) pids.set(name, pid);
for (const name of ['nats-server', 'ferretdb']) if (!pids.has(name)) console.log(`${name}: not started by this bench (external server?), not measured`);

const perWindow: Record<string, number[]> = Object.fromEntries([...pids.keys()].map((name) => [name, []]));
const totals: number[] = [];
for (let w = 0; w < windows; w++) {
  const before = new Map([...pids].map(([name, pid]) => [name, processStat(pid)?.cpuMs ?? NaN]));
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  let total = 0;
  for (const [name, pid] of pids) {
    const msPerSecond = ((processStat(pid)?.cpuMs ?? NaN) - before.get(name)!) / elapsed;
    perWindow[name]!.push(msPerSecond);
    total += msPerSecond;
  }
  totals.push(total);
  console.log(`window ${w + 1}/${windows}: whole system ${round(total, 1)} ms CPU/s`);
}

const table = Object.fromEntries([...pids.keys()].map((name) => [name, round(median(perWindow[name]!), 1)]));
const total = round(median(totals), 1);
console.table(Object.entries(table).map(([process, msPerSecond]) => ({ process, 'CPU ms/s': msPerSecond })));
console.log(`whole system: ${total} ms CPU/s (target <= ${TARGET_MS_PER_S})`);
const file = writeResults('idle', {
  benchmark: 'idle',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:idle -- --trips ${tripCount} --settle ${settleSeconds} --seconds ${seconds} --windows ${windows}`,
  target: `whole system <= ${TARGET_MS_PER_S} ms CPU per second with ${tripCount} trips in history and no traffic`,
  server: 'embedded FerretDB v1.24.2 (SQLite) and nats-server',
  node: process.version,
  history: { trips: tripCount, commits: history.length, events: eventCount, sagaInstances },
  cpuMsPerSecondMedian: table,
  wholeSystemMsPerSecondMedian: total,
  windows: totals.map((t, i) => ({ wholeSystem: round(t, 1), ...Object.fromEntries(Object.entries(perWindow).map(([name, v]) => [name, round(v[i]!, 1)])) })),
});
console.log(`written to ${file}`);
sagaWorker.kill('SIGTERM');
await new Promise((resolve) => sagaWorker.once('exit', resolve));
await system.stop();
await servers.stop();
