/**
 * `npm run bench:subscriptions -- --sockets 10000`: many driver apps on one gateway process.
 * Over the whole system as real processes (the launcher of `npm start`), it opens `sockets`
 * graphql-ws connections, each with its own driver token and a `dispatchOffers` subscription,
 * and reads the gateway's resident memory (its own `/metrics`, on its admin port) before and after: RSS per
 * socket. With all of them open, `sampleDrivers` real drivers online at the city centre get
 * the offers of `trips` real trips (requested through the gateway, confirmed by the saga,
 * dispatched by the dispatch saga); the offer delivery latency is the time from the dispatch
 * decision (the offer's `updatedAt`, stamped by the dispatch worker before it writes the offer)
 * to its arrival at the client. The sample drivers' sockets live in a process of their own
 * (`subscription-sample-drivers.ts`), so the bench's 10,000 idle sockets do not delay their
 * timestamps; the event-loop delay of that process, of this one and of the gateway during the
 * trips is reported beside the latency, with the load average. A first trip warms the path and
 * is reported apart (`warmUpTripMs`); a trip's offers are written and published together, so the
 * p99 is about the slowest trip's: the five slowest are listed. Writes bench/results/subscriptions.json.
 */
import { startLocalServers } from '@happyride/local-servers';
import { DEV_JWT_SECRET, EVENT_LOOP_SAMPLE_MS, signToken, type Role } from '@happyride/platform';
import { createClient, type Client } from 'graphql-ws';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startSystem } from '../scripts/system.ts';
import type { SampleDriversMessage } from './subscription-sample-drivers.ts';
import { percentile, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '10000' },
    'sample-drivers': { type: 'string', default: '20' },
    trips: { type: 'string', default: '30' },
    'open-concurrency': { type: 'string', default: '200' },
  },
});
const socketCount = Number(values.sockets);
const sampleDrivers = Number(values['sample-drivers']);
const tripCount = Number(values.trips);
const openConcurrency = Number(values['open-concurrency']);
const run = randomUUID().slice(0, 6);

const servers = await startLocalServers({ log: () => {} });
const system = await startSystem({
  natsUrl: servers.natsUrl,
  mongoUrl: servers.mongoUrl,
  ports: 'free',
  env: {
    MONGODB_DATABASE: `bench_${run}`,
    RATE_LIMIT_PER_MINUTE: '0',
    // Every bench socket comes from loopback.
    WS_MAX_SOCKETS_PER_IP: String(socketCount + sampleDrivers + 100),
    // One short check: nobody accepts, so each trip's offers close quickly and the next comes.
    DISPATCH_CHECK_INTERVAL_MS: '1000',
    DISPATCH_MAX_CHECKS: '1',
    LOG_LEVEL: 'warn',
  },
});
const secret = process.env.JWT_SECRET ?? DEV_JWT_SECRET;
const token = (role: Role, id: string) => signToken({ id, role }, secret, { expiresIn: '2h' });

async function gql<T>(query: string, bearer: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(system.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

/** Gauges of the gateway's `/metrics` (the event-loop ones cover the time since the last scrape). */
async function gatewayGauges<K extends string>(...names: K[]): Promise<Record<K, number>> {
  const lines = (await (await fetch(`${system.urls['gateway-metrics']}/metrics`)).text()).split('\n');
  const value = (name: K) => {
    const line = lines.find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    if (!line) throw new Error(`the gateway /metrics has no ${name}`);
    return Number(line.split(' ').at(-1));
  };
  return Object.fromEntries(names.map((name) => [name, value(name)])) as Record<K, number>;
}
const gatewayRssBytes = async () => (await gatewayGauges('process_resident_memory_bytes')).process_resident_memory_bytes;

const OFFERS = 'subscription { dispatchOffers { tripId status updatedAt } }';
type OfferMessage = { dispatchOffers: { tripId: string; status: string; updatedAt: string } };

function driverSocket(driverToken: string, onOffer: (offer: OfferMessage['dispatchOffers']) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: system.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${driverToken}` },
      on: { connected: () => resolve(client), error: reject },
    });
    client.subscribe<OfferMessage>(
      { query: OFFERS },
      { next: (result) => result.data && onOffer(result.data.dispatchOffers), error: reject, complete: () => {} },
    );
  });
}

const center = { lng: 116.3975, lat: 39.9087 };
const received = new Map<string, number>(); // `${tripId}:${driverId}` → ms after the decision
const clients: Client[] = [];

// Given: the sample drivers, registered, located at the centre and online, each on its socket in their own process.
const samples: Array<{ id: string; token: string }> = [];
for (let i = 0; i < sampleDrivers; i++) {
  const id = `bench-${run}-driver-${i}`;
  const driverToken = await token('driver', id);
  await gql('mutation ($n: String!) { registerDriver(input: { name: $n, vehicle: { plate: "B-1", model: "Bench" } }) { id } }', driverToken, { n: `Driver ${i}` });
  await gql('mutation ($lng: Float!, $lat: Float!) { updateDriverLocation(input: { lng: $lng, lat: $lat }) { id } }', driverToken, {
    lng: center.lng + (i % 5) * 0.001,
    lat: center.lat + Math.floor(i / 5) * 0.001,
  });
  await gql('mutation { goOnline { id } }', driverToken);
  samples.push({ id, token: driverToken });
}
const sampleProcess = fork(new URL('./subscription-sample-drivers.ts', import.meta.url).pathname, [JSON.stringify({ url: system.gatewayUrl.replace(/^http/, 'ws'), drivers: samples })], {
  execArgv: ['--import', 'tsx'],
});
const sampleStopped = new Promise<Extract<SampleDriversMessage, { type: 'stopped' }>>((resolve, reject) => {
  sampleProcess.on('message', (message: SampleDriversMessage) => {
    if (message.type === 'offer' && !received.has(`${message.tripId}:${message.driverId}`)) received.set(`${message.tripId}:${message.driverId}`, message.latencyMs);
    else if (message.type === 'stopped') resolve(message);
  });
  sampleProcess.on('exit', (code) => reject(new Error(`the sample drivers' process exited (${code})`)));
});
await new Promise<void>((resolve, reject) => {
  sampleProcess.on('message', (message: SampleDriversMessage) => message.type === 'connected' && resolve());
  sampleProcess.on('exit', (code) => reject(new Error(`the sample drivers' process exited (${code}) before its sockets were open`)));
});
await new Promise((resolve) => setTimeout(resolve, 2_000));
const rssBefore = await gatewayRssBytes();

// When: `sockets` more driver apps connect and subscribe, `openConcurrency` at a time.
const idle = socketCount - sampleDrivers;
const openStarted = performance.now();
let opened = 0;
await Promise.all(
  Array.from({ length: openConcurrency }, async () => {
    for (let i = opened++; i < idle; i = opened++) clients.push(await driverSocket(await token('driver', `bench-${run}-idle-${i}`), () => {}));
  }),
);
const openSeconds = (performance.now() - openStarted) / 1000;
await new Promise((resolve) => setTimeout(resolve, 5_000));
const rssAfter = await gatewayRssBytes();
console.log(`${clients.length + samples.length} sockets open in ${round(openSeconds, 1)} s; gateway RSS ${round(rssBefore / 2 ** 20, 1)} → ${round(rssAfter / 2 ** 20, 1)} MiB`);

// And: trips at the centre, one after another, each offered to the sample drivers.
/** Requests one trip and waits (15 s at most) until every sample driver has its offer: their latencies. */
async function offerOneTrip(passengerId: string): Promise<number[]> {
  const passengerToken = await token('passenger', passengerId);
  await gql('mutation { registerPassenger(input: { name: "Bench" }) { id } }', passengerToken);
  const { requestTrip } = await gql<{ requestTrip: { id: string } }>(
    'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }',
    passengerToken,
    { s: center, e: { lng: center.lng + 0.02, lat: center.lat + 0.01 } },
  );
  const deadline = Date.now() + 15_000;
  const ofTrip = () => [...received].filter(([key]) => key.startsWith(`${requestTrip.id}:`)).map(([, ms]) => ms);
  while (ofTrip().length < sampleDrivers && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return ofTrip();
}
// A first trip warms the path (the first offers written, published and pushed by freshly started
// processes: JIT, first use of the collection); reported apart, not in the figures.
const warmUp = (await offerOneTrip(`bench-${run}-passenger-warm-up`)).sort((a, b) => a - b);
const measured: number[][] = [];
let offered = 0;
const BENCH_DELAY_RESOLUTION_MS = 5;
const benchDelay = monitorEventLoopDelay({ resolution: BENCH_DELAY_RESOLUTION_MS });
benchDelay.enable();
await gatewayGauges('nodejs_eventloop_lag_max_seconds'); // the gateway's event-loop figures start from here
const loadBefore = loadavg()[0]!;
for (let t = 0; t < tripCount; t++) {
  const latencies = await offerOneTrip(`bench-${run}-passenger-${t}`);
  measured.push(latencies);
  offered += latencies.length;
  process.stderr.write(`\rtrip ${t + 1}/${tripCount}: ${latencies.length}/${sampleDrivers} offers delivered`);
}
process.stderr.write('\n');
const loadAfter = loadavg()[0]!;
benchDelay.disable();
const gatewayLag = await gatewayGauges('nodejs_eventloop_lag_p50_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds');
sampleProcess.send('stop');
const { eventLoopDelayMs: sampleDelay } = await sampleStopped;
// A monitor's figures are the time between its timer's turns: the delay is that beyond its resolution.
const late = (ms: number, resolutionMs: number) => round(Math.max(0, ms - resolutionMs), 1);
const lateBy = (figures: { p50: number; p99: number; max: number }, resolutionMs: number) => ({ p50: late(figures.p50, resolutionMs), p99: late(figures.p99, resolutionMs), max: late(figures.max, resolutionMs) });
const eventLoopDelayMs = {
  sampleDriversProcess: sampleDelay,
  benchProcess: lateBy({ p50: benchDelay.percentile(50) / 1e6, p99: benchDelay.percentile(99) / 1e6, max: benchDelay.max / 1e6 }, BENCH_DELAY_RESOLUTION_MS),
  gateway: lateBy({ p50: gatewayLag.nodejs_eventloop_lag_p50_seconds * 1000, p99: gatewayLag.nodejs_eventloop_lag_p99_seconds * 1000, max: gatewayLag.nodejs_eventloop_lag_max_seconds * 1000 }, EVENT_LOOP_SAMPLE_MS),
};

const latencies = measured.flat().sort((a, b) => a - b);
// p99 of the offers is about the slowest trip's (a trip's offers are written and published together).
const slowestTripsMs = measured.map((trip) => Math.max(...trip)).sort((a, b) => b - a).slice(0, 5);
const perSocketBytes = (rssAfter - rssBefore) / idle;
const results = {
  benchmark: 'subscriptions',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:subscriptions -- --sockets ${socketCount} --sample-drivers ${sampleDrivers} --trips ${tripCount}`,
  targets: { sockets: 10_000, offerDeliveryP99Ms: 50, rssPerSocketKB: 20 },
  node: process.version,
  sockets: clients.length + samples.length,
  openSeconds: round(openSeconds, 1),
  gatewayRssMiB: { before: round(rssBefore / 2 ** 20, 1), after: round(rssAfter / 2 ** 20, 1) },
  rssPerSocketKB: round(perSocketBytes / 1024, 1),
  offers: { expected: sampleDrivers * tripCount, delivered: offered },
  offerDeliveryMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN },
  slowestTripsMs,
  warmUpTripMs: { p50: percentile(warmUp, 50), max: warmUp.at(-1) ?? NaN },
  loadAverage1m: { before: round(loadBefore, 1), after: round(loadAfter, 1), cores: availableParallelism() },
  eventLoopDelayMs,
  path: 'dispatch decision (offer updatedAt) → dispatch_offers write (FerretDB) → NATS notice carrying the offer → gateway pushes it (the selection `tripId status updatedAt` is all in the notice: no read through the graph) → graphql-ws push → the sample drivers\' own process; clock: one machine, ms resolution',
};
console.log(JSON.stringify(results, null, 2));
console.log(`written to ${writeResults('subscriptions', results)}`);
await Promise.all(clients.map((client) => client.dispose()));
await system.stop();
await servers.stop();
