/**
 * `npm run bench:hops`: what an entity hop costs the system next to a plain field, the weight
 * the gateway's cost model gives it (gateway/src/plugins/operation-limits.ts, README
 * "Configuration"). One driver with 100 dispatch offers, each of another passenger, written
 * straight into a fresh database; the whole system runs compiled, as deployed. Through the
 * gateway, at `--concurrency`, for `--seconds` per workload in `--rounds` interleaved rounds:
 *
 * - `oneField`: `myDispatchOffers(status: S) { tripId }` (100 offers);
 * - `eightFields`: the same with 7 more plain fields per offer (700 more fields);
 * - `passengerName`: the same as `oneField` plus `passenger { name }`: 100 entity fetches from
 *   profile-queries (one `_entities` request of 100 representations).
 *
 * S is EXPIRED (the hostile request of issue 20: the driver may not read those passengers, each
 * still costs profile-queries its two access reads) and OPEN (the passengers are readable: the
 * two access reads and the profile's). The CPU time (utime + stime, /proc/<pid>/stat) of the
 * gateway, trip-queries, profile-queries and FerretDB per request gives a plain field's cost
 * ((eightFields − oneField) / 700) and an entity's ((passengerName − oneField) / 100); their ratio
 * is the weight. Writes bench/results/entity-hops.json.
 */
import { signToken } from '@happyride/platform';
import { startLocalServers } from '@happyride/local-servers';
import { prepareTripHistory } from '@happyride/projections';
import { MongoClient } from 'mongodb';
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildAll } from '../scripts/build.ts';
import { startSystem } from '../scripts/system.ts';
import { localServerPids, processStat } from './processes.ts';
import { median, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1' },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const OFFERS = 100;
const DRIVER = 'bench-driver';
// Run as deployed (NODE_ENV=production), which wants a secret of its own.
const secret = process.env.JWT_SECRET ?? randomBytes(32).toString('hex');

// Given: one driver's offers, EXPIRED and OPEN, each of its own registered passenger.
const servers = await startLocalServers({ log: () => {} });
const database = `bench_hops_${randomUUID().slice(0, 6)}`;
const client = new MongoClient(servers.mongoUrl);
const db = client.db(database);
await prepareTripHistory(db);
await db.collection('dispatch_offers').createIndex({ driverId: 1, status: 1 });
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
for (const status of ['EXPIRED', 'OPEN'] as const) {
  const passengers = Array.from({ length: OFFERS }, (_, i) => `p-${status.toLowerCase()}-${i}`);
  await db.collection<{ _id: string }>('passengers').insertMany(
    passengers.map((id) => ({ _id: id, name: `Passenger ${id}`, banned: false, version: 1, registeredAt: iso(now), updatedAt: iso(now) })),
  );
  await db.collection<{ _id: string }>('dispatch_offers').insertMany(
    passengers.map((passengerId, i) => ({
      _id: `t-${passengerId}:${DRIVER}`,
      tripId: `t-${passengerId}`,
      driverId: DRIVER,
      passengerId,
      passengerName: `Passenger ${passengerId}`,
      status,
      start: { lng: 2.35, lat: 48.85 },
      end: { lng: 2.29, lat: 48.86 },
      distanceKm: 4.9,
      fare: 17.8,
      // OPEN offers stay open for the whole bench, so their passengers are readable.
      expiresAt: iso(status === 'OPEN' ? now + 24 * 3_600_000 : now - 60_000),
      updatedAt: iso(now - i * 1_000),
    })),
  );
}
await client.close();

await buildAll();
const system = await startSystem({
  natsUrl: servers.natsUrl,
  mongoUrl: servers.mongoUrl,
  ports: 'free',
  runtime: 'compiled',
  without: ['projector', 'saga-worker'],
  onLine: (service, line) => {
    if (/"level":(50|60)/.test(line)) console.error(service, line.slice(0, 600));
  },
  env: {
    NODE_ENV: 'production',
    JWT_SECRET: secret,
    MONGODB_DATABASE: database,
    LOG_LEVEL: 'warn',
    // 100 entities are 200-300 reads at once: measure them rather than time them out.
    MONGODB_TIMEOUT_MS: '60000',
    // The bench measures the work, not the refusals.
    GRAPHQL_MAX_COST: '100000000',
    RATE_LIMIT_PER_MINUTE: '100000000',
    RATE_LIMIT_BURST: '100000000',
  },
});
const url = system.gatewayUrl;
const servicePids = new Set(['gateway', 'trip-queries', 'profile-queries'].map((name) => system.pid(name)!));
const pids = { gateway: system.pid('gateway')!, tripQueries: system.pid('trip-queries')!, profileQueries: system.pid('profile-queries')!, ferretdb: localServerPids(servicePids).get('ferretdb')! };
const token = await signToken({ id: DRIVER, role: 'driver' }, secret);

const MORE_FIELDS = 'passengerId passengerName driverId status fare distanceKm expiresAt';
const workloads = {
  oneField: '{ tripId }',
  eightFields: `{ tripId ${MORE_FIELDS} }`,
  passengerName: '{ tripId passenger { name } }',
};
type Workload = keyof typeof workloads;
const query = (status: string, workload: Workload) => `{ myDispatchOffers(status: ${status}) ${workloads[workload]} }`;

async function check(status: string, workload: Workload) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: query(status, workload) }) });
  const body = (await response.json()) as { data?: { myDispatchOffers: { passenger?: { name: string } | null }[] }; errors?: unknown };
  const offers = body.data?.myDispatchOffers ?? [];
  if (body.errors || offers.length !== OFFERS) throw new Error(`${status} ${workload}: ${JSON.stringify(body).slice(0, 300)}`);
  if (workload === 'passengerName' && offers.filter((o) => o.passenger).length !== (status === 'OPEN' ? OFFERS : 0)) throw new Error(`${status}: unexpected passengers`);
}

const cpuOf = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processStat(pid)?.cpuMs ?? NaN])) as Record<keyof typeof pids, number>;

async function load(status: string, workload: Workload) {
  const body = JSON.stringify({ query: query(status, workload) });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  let requests = 0;
  let errors = 0;
  const cpu0 = cpuOf();
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const response = await fetch(url, { method: 'POST', headers, body });
        const text = await response.text();
        if (!response.ok || text.includes('"errors"')) errors++;
        requests++;
      }
    }),
  );
  const cpu1 = cpuOf();
  const perRequest = Object.fromEntries(Object.keys(pids).map((name) => [name, (cpu1[name as keyof typeof pids] - cpu0[name as keyof typeof pids]) / requests])) as Record<keyof typeof pids, number>;
  const totalMs = Object.values(perRequest).reduce((sum, ms) => sum + ms, 0);
  return { requests, errors, totalMs, perRequest };
}

const results: Record<string, unknown> = {};
for (const status of ['EXPIRED', 'OPEN']) {
  for (const workload of Object.keys(workloads) as Workload[]) await check(status, workload);
  for (const workload of Object.keys(workloads) as Workload[]) await load(status, workload); // warm-up
  const runs: Record<Workload, Awaited<ReturnType<typeof load>>[]> = { oneField: [], eightFields: [], passengerName: [] };
  for (let round = 0; round < rounds; round++) for (const workload of Object.keys(workloads) as Workload[]) runs[workload].push(await load(status, workload));
  const cpu = (workload: Workload) => median(runs[workload].map((run) => run.totalMs));
  const plainFieldMs = (cpu('eightFields') - cpu('oneField')) / (7 * OFFERS);
  const entityMs = (cpu('passengerName') - cpu('oneField')) / OFFERS;
  results[status] = {
    cpuMsPerRequest: { oneField: round(cpu('oneField'), 3), eightFields: round(cpu('eightFields'), 3), passengerName: round(cpu('passengerName'), 3) },
    byProcess: Object.fromEntries((Object.keys(workloads) as Workload[]).map((w) => [w, Object.fromEntries(Object.entries(runs[w].at(-1)!.perRequest).map(([k, v]) => [k, round(v, 3)]))])),
    requests: Object.fromEntries((Object.keys(workloads) as Workload[]).map((w) => [w, runs[w].reduce((sum, run) => sum + run.requests, 0)])),
    errors: Object.values(runs).flat().reduce((sum, run) => sum + run.errors, 0),
    plainFieldUs: round(plainFieldMs * 1000, 2),
    entityUs: round(entityMs * 1000, 1),
    entityPerPlainField: round(entityMs / plainFieldMs, 1),
  };
  console.log(status, JSON.stringify(results[status], null, 2));
}
const file = writeResults('entity-hops', {
  benchmark: 'entity-hops',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:hops -- --seconds ${seconds} --rounds ${rounds} --concurrency ${concurrency}`,
  node: process.version,
  results,
});
console.log(`written to ${file}`);
await system.stop();
await servers.stop();
