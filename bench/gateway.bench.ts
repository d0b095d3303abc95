/**
 * `npm run bench:gateway`: this project's gateway (compiled, every protection on) against a
 * stock `@apollo/gateway` + `@apollo/server` (bench/stock-gateway.mjs) on the same running
 * subgraphs and FerretDB, in interleaved rounds of one run. For each workload and concurrency:
 * requests/s, p50/p99, and the gateway process's CPU time per request (utime + stime from
 * /proc/<pid>/stat: stable on a noisy machine, unlike requests/s). Writes
 * bench/results/gateway.json.
 */
import { signToken } from '@happyride/platform';
import { startLocalServers } from '@happyride/local-servers';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildAll } from '../scripts/build.ts';
import { freePort, startSystem } from '../scripts/system.ts';
import { median, percentile, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '10,50' },
    trips: { type: 'string', default: '170' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const concurrencies = values.concurrency.split(',').map(Number);
const root = fileURLToPath(new URL('../', import.meta.url));
// Both gateways run as deployed, NODE_ENV=production (the Dockerfile's; the stock one's below), which
// wants a secret of its own rather than the public development one.
const secret = process.env.JWT_SECRET ?? randomBytes(32).toString('hex');
const TICK_MS = 10; // USER_HZ is 100 on Linux

await buildAll();
const servers = await startLocalServers({ log: () => {} });
const system = await startSystem({
  natsUrl: servers.natsUrl,
  mongoUrl: servers.mongoUrl,
  ports: 'free',
  runtime: 'compiled',
  // Protections on; the rate limit high enough that the bench measures its cost, not its refusals, and the cost
  // limit too: its pages ask 10 trips' passengers and drivers (20 entity hops, about 100,000).
  env: { NODE_ENV: 'production', JWT_SECRET: secret, MONGODB_DATABASE: `bench_${randomUUID().slice(0, 6)}`, RATE_LIMIT_PER_MINUTE: '100000000', RATE_LIMIT_BURST: '100000000', LOG_LEVEL: 'warn', GRAPHQL_MAX_COST: '1000000' },
});
const oursUrl = system.gatewayUrl;
const oursPort = new URL(oursUrl).port;

const stockPort = await freePort();
const subgraphUrls = Object.fromEntries(Object.entries(system.urls).filter(([name]) => !['gateway', 'projector', 'saga-worker'].includes(name)).map(([name, url]) => [name, `${url}/graphql`]));
const stock = spawn(process.execPath, ['bench/stock-gateway.mjs'], {
  cwd: root,
  env: { ...process.env, PORT: String(stockPort), SUPERGRAPH_PATH: `${root}schema/supergraph.graphql`, SUBGRAPH_URLS: JSON.stringify(subgraphUrls), APOLLO_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  stock.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('stock gateway listening') && resolve());
  stock.once('exit', (code) => reject(new Error(`the stock gateway exited (${code})`)));
});
const stockUrl = `http://127.0.0.1:${stockPort}/`;

/** Our gateway's pid: the dist/gateway.js process listening on its port (found through /proc). */
function oursPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('dist/gateway.js') && readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`\0GATEWAY_PORT=${oursPort}\0`)) return Number(entry);
    } catch {
      // gone, or not ours
    }
  }
  throw new Error('cannot find our gateway process');
}
const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
};
const gateways = { ours: { url: oursUrl, pid: oursPid() }, stock: { url: stockUrl, pid: stock.pid! } };

async function post(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  let body: { data?: unknown; errors?: { message: string }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`${url} answered ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 300))}`);
  }
  if (!response.ok || body.errors) throw new Error(`${response.status} ${JSON.stringify(body.errors ?? body)}`);
  return body.data as Record<string, unknown>;
}

// Given: passengers with a trip each, a registered driver, all projected.
const admin = await signToken({ id: 'bench-admin', role: 'admin' }, secret);
const passengerIds = Array.from({ length: Number(values.trips) }, (_, i) => `gwb-${randomUUID().slice(0, 6)}-${i}`);
for (const id of passengerIds) {
  const token = await signToken({ id, role: 'passenger' }, secret);
  await post(oursUrl, token, 'mutation { registerPassenger(input: { name: "Bench" }) { id } }');
  await post(oursUrl, token, 'mutation { requestTrip(input: { start: { lng: 116.40, lat: 39.90 }, end: { lng: 116.45, lat: 39.93 } }) { id } }');
}
const passenger = { id: passengerIds[0]!, token: await signToken({ id: passengerIds[0]!, role: 'passenger' }, secret) };
for (const url of [oursUrl, stockUrl]) {
  for (let seen = 0; seen < 10; ) {
    const data = await post(url, admin, '{ trips(first: 10) { edges { node { id passenger { name } } } } }');
    seen = ((data.trips as { edges: { node: { passenger: unknown } }[] }).edges.filter((e) => e.node.passenger !== null)).length;
  }
}

const workloads = {
  typename: { token: passenger.token, query: '{ __typename }', variables: {} },
  passenger: { token: passenger.token, query: 'query ($id: ID!) { passenger(id: $id) { id name } }', variables: { id: passenger.id } },
  tripsPage: {
    token: admin,
    query: '{ trips(first: 10) { edges { node { id state fare passenger { id name } driver { id name } } } pageInfo { hasNextPage endCursor } } }',
    variables: {},
  },
} as const;

type Sample = { requestsPerSecond: number; p50Ms: number; p99Ms: number; cpuMsPerRequest: number; errors: number; firstError?: string };
async function load(gateway: { url: string; pid: number }, workload: (typeof workloads)[keyof typeof workloads], concurrency: number): Promise<Sample> {
  const body = JSON.stringify({ query: workload.query, variables: workload.variables });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${workload.token}` };
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const ticks0 = cpuTicks(gateway.pid);
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const response = await fetch(gateway.url, { method: 'POST', headers, body });
        const text = await response.text();
        if (!response.ok || text.includes('"errors"')) {
          errors++;
          firstError ??= `${response.status} ${text.slice(0, 300)}`;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpuMs = (cpuTicks(gateway.pid) - ticks0) * TICK_MS;
  latencies.sort((a, b) => a - b);
  return { requestsPerSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), cpuMsPerRequest: cpuMs / latencies.length, errors, ...(firstError ? { firstError } : {}) };
}

const samples: Record<string, Sample[]> = {};
/** Every error answer is counted; the first of each gateway and workload is shown, to say what it was. */
const reportFirstError = (key: string, sample: Sample) => sample.firstError && !reported.has(key) && (reported.add(key), console.error(`${key}: ${sample.firstError}`));
const reported = new Set<string>();
for (const [name, workload] of Object.entries(workloads)) {
  for (const gateway of Object.values(gateways)) await load(gateway, workload, 10); // warm-up: JIT, caches, sockets
  for (let round = 0; round < rounds; round++) {
    for (const concurrency of concurrencies) {
      // Interleaved, and the order alternates so neither side always runs second.
      const order = round % 2 === 0 ? (['ours', 'stock'] as const) : (['stock', 'ours'] as const);
      for (const side of order) {
        const sample = await load(gateways[side], workload, concurrency);
        reportFirstError(`${name}/${side}`, sample);
        (samples[`${name}/${concurrency}/${side}`] ??= []).push(sample);
      }
    }
  }
}

const summary = Object.keys(workloads).flatMap((name) =>
  concurrencies.map((concurrency) => {
    const of = (side: string, key: Exclude<keyof Sample, 'firstError'>) => median(samples[`${name}/${concurrency}/${side}`]!.map((s) => s[key]));
    return {
      workload: name,
      concurrency,
      oursCpuMsPerRequest: round(of('ours', 'cpuMsPerRequest')),
      stockCpuMsPerRequest: round(of('stock', 'cpuMsPerRequest')),
      cpuRatio: round(of('ours', 'cpuMsPerRequest') / of('stock', 'cpuMsPerRequest'), 2),
      oursRequestsPerSecond: Math.round(of('ours', 'requestsPerSecond')),
      stockRequestsPerSecond: Math.round(of('stock', 'requestsPerSecond')),
      oursP50Ms: round(of('ours', 'p50Ms'), 1),
      oursP99Ms: round(of('ours', 'p99Ms'), 1),
      stockP50Ms: round(of('stock', 'p50Ms'), 1),
      stockP99Ms: round(of('stock', 'p99Ms'), 1),
      errors: of('ours', 'errors') + of('stock', 'errors'),
    };
  }),
);
console.log(`our gateway vs stock @apollo/gateway on the same subgraphs: ${rounds} interleaved rounds of ${seconds} s, medians`);
console.table(summary);
const file = writeResults('gateway', {
  benchmark: 'gateway',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:gateway -- --rounds ${rounds} --seconds ${seconds} --concurrency ${values.concurrency} --trips ${values.trips}`,
  target: 'cpuRatio <= 1.15 on every workload',
  node: process.version,
  results: summary,
});
console.log(`written to ${file}`);
stock.kill();
await system.stop();
await servers.stop();
