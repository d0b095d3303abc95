/**
 * `npm run bench:pages`: pages of the trip history straight from trip-queries (no gateway), over
 * `--trips` trips (default 12,000) on the embedded FerretDB. The trips are written straight into
 * the trip history of a fresh database (insertMany in chunks, with the projector's indexes), then
 * trip-queries runs as a real process (the compiled bundle) and answers, at `--concurrency`, for
 * `--seconds` per workload: the first page of all trips as an admin (the target: ≥ 500
 * requests/s), a passenger's first page, and the page after a cursor. Reports requests/s,
 * p50/p99 and the CPU time (utime + stime from /proc/<pid>/stat) of trip-queries, FerretDB and
 * nats-server per request, and this process's own (the client); writes bench/results/trip-pages.json.
 */
import type { TripStatus } from '@happyride/domain';
import { DEV_JWT_SECRET, signToken } from '@happyride/platform';
import { prepareTripHistory, TRIPS, type TripHistoryDocument } from '@happyride/projections';
import { startLocalServers } from '@happyride/local-servers';
import { MongoClient } from 'mongodb';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildAll } from '../scripts/build.ts';
import { allServices, startSystem } from '../scripts/system.ts';
import { percentile, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    trips: { type: 'string', default: '12000' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '10' },
  },
});
const tripCount = Number(values.trips);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const TARGET_RPS = 500;
const CHUNK = 1_000;
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const secret = process.env.JWT_SECRET ?? DEV_JWT_SECRET;

function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/** The server `startLocalServers` spawned: a descendant of this process whose name starts with `name` (ferretdb…, nats-server…). */
function serverPid(name: string): number {
  const parentOf = (pid: number) => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return { ppid: Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]), comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')) };
    } catch {
      return undefined;
    }
  };
  for (const pid of readdirSync('/proc').map(Number).filter(Number.isInteger)) {
    if (!parentOf(pid)?.comm.startsWith(name)) continue;
    for (let at = parentOf(pid)?.ppid; at !== undefined && at > 1; at = parentOf(at)?.ppid) if (at === process.pid) return pid;
  }
  throw new Error(`cannot find the ${name} process started by this bench`);
}

/** A trip as the projector writes it; about one in eight shares its creation time with the one before. */
function trip(i: number): TripHistoryDocument {
  const createdAt = new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 8) * 8_000 + (i % 8 === 7 ? 0 : (i % 8) * 1_000)).toISOString();
  const state: TripStatus = i % 20 === 0 ? 'CANCELLED' : i % 33 === 0 ? 'STARTED' : 'FINISHED';
  const driverId = `d${i % Math.max(5, Math.round(tripCount / 40))}`;
  return {
    _id: `t${String(i).padStart(6, '0')}-${randomUUID().slice(0, 8)}`,
    version: 7,
    passengerId: `p${i % Math.max(10, Math.round(tripCount / 12))}`,
    passengerName: `Passenger ${i}`,
    passengerNameVersion: 1,
    driverId,
    driverName: `Driver ${driverId}`,
    driverNameVersion: 1,
    start: { lng: 2.35, lat: 48.85 },
    end: { lng: 2.29, lat: 48.86 },
    distanceKm: 4.9,
    fare: 17.8,
    state,
    paymentStatus: state === 'FINISHED' ? 'PAID' : 'NONE',
    paymentVersion: state === 'FINISHED' ? 2 : 0,
    candidateDriverIds: [driverId],
    rejectionReason: null,
    dispatchFailureReason: null,
    cancellationReason: state === 'CANCELLED' ? 'changed my mind' : null,
    cancelledBy: state === 'CANCELLED' ? 'passenger' : null,
    cancellationRequestedBy: state === 'CANCELLED' ? 'passenger' : null,
    createdAt,
    updatedAt: createdAt,
    startedAt: state === 'CANCELLED' ? null : createdAt,
    finishedAt: state === 'FINISHED' ? createdAt : null,
  };
}

// Given: the trip history of a fresh database, with the projector's indexes.
const servers = await startLocalServers({ log: () => {} });
const database = `bench_pages_${randomUUID().slice(0, 6)}`;
const client = new MongoClient(servers.mongoUrl);
const db = client.db(database);
await prepareTripHistory(db);
const loadStarted = performance.now();
for (let from = 0; from < tripCount; from += CHUNK) {
  await db.collection<TripHistoryDocument>(TRIPS).insertMany(Array.from({ length: Math.min(CHUNK, tripCount - from) }, (_, i) => trip(from + i)));
}
console.log(`${tripCount} trips written in ${Math.round(performance.now() - loadStarted)} ms`);
await client.close();

await buildAll();
const system = await startSystem({
  natsUrl: servers.natsUrl,
  mongoUrl: servers.mongoUrl,
  ports: 'free',
  runtime: 'compiled',
  without: allServices.map((service) => service.name).filter((name) => name !== 'trip-queries'),
  // Reads may take long before pages are index-backed: measure them rather than time them out.
  env: { MONGODB_DATABASE: database, LOG_LEVEL: 'warn', MONGODB_TIMEOUT_MS: '60000' },
});
const url = `${system.urls['trip-queries']}/graphql`;
const pids = { tripQueries: system.pid('trip-queries')!, ferretdb: serverPid('ferretdb'), natsServer: serverPid('nats-server') };
const admin = await signToken({ id: 'bench-admin', role: 'admin' }, secret);
const passenger = await signToken({ id: 'p3', role: 'passenger' }, secret);

const PAGE = 'query ($after: String) { trips(first: 10, after: $after) { edges { cursor node { id state fare createdAt } } pageInfo { hasNextPage endCursor } } }';
async function post(token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: { trips: { edges: unknown[]; pageInfo: { endCursor: string } } }; errors?: unknown };
  if (!response.ok || body.errors || !body.data) throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body.data.trips;
}
const firstPage = await post(admin, PAGE);
if (firstPage.edges.length !== 10) throw new Error(`expected a full first page, got ${firstPage.edges.length} trips`);

const workloads = {
  allTrips: { token: admin, variables: {} },
  passengerTrips: { token: passenger, variables: {} },
  afterCursor: { token: admin, variables: { after: firstPage.pageInfo.endCursor } },
};

async function load({ token, variables }: (typeof workloads)[keyof typeof workloads]) {
  const body = JSON.stringify({ query: PAGE, variables });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const latencies: number[] = [];
  let errors = 0;
  const cpu0 = { tripQueries: cpuMs(pids.tripQueries), ferretdb: cpuMs(pids.ferretdb), natsServer: cpuMs(pids.natsServer), client: process.cpuUsage() };
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const response = await fetch(url, { method: 'POST', headers, body });
        const text = await response.text();
        if (!response.ok || text.includes('"errors"') || !text.includes('"edges":[{')) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const client = process.cpuUsage(cpu0.client);
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: Math.round(latencies.length / elapsed),
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    tripQueriesCpuMsPerRequest: round((cpuMs(pids.tripQueries) - cpu0.tripQueries) / latencies.length, 2),
    ferretdbCpuMsPerRequest: round((cpuMs(pids.ferretdb) - cpu0.ferretdb) / latencies.length, 2),
    // trip-queries' page cache PINGs nats-server; the bench's own client (fetch) shares the machine.
    natsServerCpuMsPerRequest: round((cpuMs(pids.natsServer) - cpu0.natsServer) / latencies.length, 2),
    benchClientCpuMsPerRequest: round((client.user + client.system) / 1000 / latencies.length, 2),
    requests: latencies.length,
    errors,
  };
}

const results: Record<string, Awaited<ReturnType<typeof load>>> = {};
for (const [name, workload] of Object.entries(workloads)) {
  await load({ ...workload }); // warm-up: JIT, sockets, SQLite's page cache
  results[name] = await load(workload);
}
console.log(`trips(first: 10) straight on trip-queries over ${tripCount} trips, concurrency ${concurrency}, ${seconds} s each`);
console.table(results);
const file = writeResults('trip-pages', {
  benchmark: 'trip-pages',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:pages -- --trips ${tripCount} --seconds ${seconds} --concurrency ${concurrency}`,
  target: `allTrips.requestsPerSecond >= ${TARGET_RPS}`,
  node: process.version,
  results,
});
console.log(`written to ${file}`);
await system.stop();
await servers.stop();
