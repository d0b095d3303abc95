/**
 * `npm run bench:subscriptions -- --sockets 10000`: many driver apps on one gateway process.
 * Over the whole system as real processes (the launcher of `npm start`), it opens `sockets`
 * graphql-ws connections, each with its own driver token and a `dispatchOffers` subscription,
 * and reads the gateway's resident memory (its own `/metrics`, on its admin port) before and after: RSS per
 * socket. With all of them open, `sampleDrivers` real drivers online at the city centre get
 * the offers of `trips` real trips (requested through the gateway, confirmed by the saga,
 * dispatched by the dispatch saga); the offer delivery latency is the time from the dispatch
 * decision (the offer's `updatedAt`, stamped by the dispatch worker before it writes the offer)
 * to its arrival at the client. Writes bench/results/subscriptions.json.
 */
import { startLocalServers } from '@happyride/local-servers';
import { DEV_JWT_SECRET, signToken, type Role } from '@happyride/platform';
import { createClient, type Client } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { startSystem } from '../scripts/system.ts';
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

async function gatewayRssBytes(): Promise<number> {
  const text = await (await fetch(`${system.urls['gateway-metrics']}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
  if (!line) throw new Error('the gateway /metrics has no process_resident_memory_bytes');
  return Number(line.split(' ')[1]);
}

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

// Given: the sample drivers, registered, located at the centre and online, each on its socket.
for (let i = 0; i < sampleDrivers; i++) {
  const id = `bench-${run}-driver-${i}`;
  const driverToken = await token('driver', id);
  await gql('mutation ($n: String!) { registerDriver(input: { name: $n, vehicle: { plate: "B-1", model: "Bench" } }) { id } }', driverToken, { n: `Driver ${i}` });
  await gql('mutation ($lng: Float!, $lat: Float!) { updateDriverLocation(input: { lng: $lng, lat: $lat }) { id } }', driverToken, {
    lng: center.lng + (i % 5) * 0.001,
    lat: center.lat + Math.floor(i / 5) * 0.001,
  });
  await gql('mutation { goOnline { id } }', driverToken);
  clients.push(
    await driverSocket(driverToken, (offer) => {
      if (offer.status === 'OPEN' && !received.has(`${offer.tripId}:${id}`)) received.set(`${offer.tripId}:${id}`, Date.now() - Date.parse(offer.updatedAt));
    }),
  );
}
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
console.log(`${clients.length} sockets open in ${round(openSeconds, 1)} s; gateway RSS ${round(rssBefore / 2 ** 20, 1)} → ${round(rssAfter / 2 ** 20, 1)} MiB`);

// And: trips at the centre, one after another, each offered to the sample drivers.
let offered = 0;
for (let t = 0; t < tripCount; t++) {
  const passengerToken = await token('passenger', `bench-${run}-passenger-${t}`);
  await gql('mutation { registerPassenger(input: { name: "Bench" }) { id } }', passengerToken);
  const { requestTrip } = await gql<{ requestTrip: { id: string } }>(
    'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }',
    passengerToken,
    { s: center, e: { lng: center.lng + 0.02, lat: center.lat + 0.01 } },
  );
  const deadline = Date.now() + 15_000;
  const count = () => [...received.keys()].filter((key) => key.startsWith(`${requestTrip.id}:`)).length;
  while (count() < sampleDrivers && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  offered += count();
  process.stderr.write(`\rtrip ${t + 1}/${tripCount}: ${count()}/${sampleDrivers} offers delivered`);
}
process.stderr.write('\n');

const latencies = [...received.values()].sort((a, b) => a - b);
const perSocketBytes = (rssAfter - rssBefore) / idle;
const results = {
  benchmark: 'subscriptions',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:subscriptions -- --sockets ${socketCount} --sample-drivers ${sampleDrivers} --trips ${tripCount}`,
  targets: { sockets: 10_000, offerDeliveryP99Ms: 50, rssPerSocketKB: 20 },
  node: process.version,
  sockets: clients.length,
  openSeconds: round(openSeconds, 1),
  gatewayRssMiB: { before: round(rssBefore / 2 ** 20, 1), after: round(rssAfter / 2 ** 20, 1) },
  rssPerSocketKB: round(perSocketBytes / 1024, 1),
  offers: { expected: sampleDrivers * tripCount, delivered: offered },
  offerDeliveryMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN },
  path: 'dispatch decision (offer updatedAt) → dispatch_offers write (FerretDB) → NATS notice carrying the offer → gateway pushes it (the selection `tripId status updatedAt` is all in the notice: no read through the graph) → graphql-ws push; clock: one machine, ms resolution',
};
console.log(JSON.stringify(results, null, 2));
console.log(`written to ${writeResults('subscriptions', results)}`);
await Promise.all(clients.map((client) => client.dispose()));
await system.stop();
await servers.stop();
