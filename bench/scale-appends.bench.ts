/**
 * `npm run bench:scale:appends` (part 1 of `npm run bench:scale`): event appends per second
 * through the JetStream event store on one nats-server (1 replica) and on a 3-node cluster on
 * this machine with 3 replicas, side by side in one run: alternating rounds, medians. Both keep
 * `sync_interval: always` (fsync before each acknowledgement; on the cluster, on every replica
 * the acknowledgement waits for). Writes key `appends` of bench/results/scale.json, keeping the
 * file's other keys (`replay` comes from `scale-replay.bench.ts`).
 */
import { bootstrapEventLog, connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { startLocalServers, type LocalServers } from '@happyride/local-servers';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { measure, median, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    ops: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1,32' },
    aggregates: { type: 'string', default: '200' },
  },
});
const rounds = Number(values.rounds);
const ops = Number(values.ops);
const aggregates = Number(values.aggregates);
const concurrencies = values.concurrency.split(',').map(Number);
for (const concurrency of concurrencies) {
  if (concurrency > aggregates) throw new Error(`--concurrency ${concurrency} needs at least as many --aggregates`);
}

// Only NATS is measured: a MONGODB_URL (never dialled) keeps FerretDB from starting.
const noMongo = { MONGODB_URL: 'mongodb://127.0.0.1:1/' };

interface Target {
  label: 'oneNode' | 'cluster3R3';
  servers: LocalServers;
  nats: Nats;
  append: (i: number) => Promise<unknown>;
}

async function target(label: Target['label'], natsCluster: number, replicas: number): Promise<Target> {
  const servers = await startLocalServers({ env: noMongo, natsCluster, log: () => {} });
  const nats = await connectNats(servers.natsUrl, `bench-scale-${label}`);
  await bootstrapEventLog(nats.jsm, [], { replicas });
  const store = new JetStreamEventStore(nats.js, nats.jsm);
  // One aggregate per in-flight writer slot, so concurrent appends never conflict.
  const run = randomUUID().slice(0, 6);
  const ids = Array.from({ length: aggregates }, (_, i) => `bench-${run}-${i}`);
  const versions = new Map<string, number>(ids.map((id) => [id, 0]));
  const now = new Date().toISOString();
  let counter = 0;
  const append = async (i: number) => {
    const id = ids[i % ids.length] ?? '';
    const version = versions.get(id) ?? 0;
    versions.set(id, version + 1); // reserved before the await: the slot owns this aggregate
    const event = { type: 'PassengerDetailsUpdated' as const, data: { passengerId: id, name: `Name ${counter++}` } };
    await store.append('passenger', id, [event], version, { commandId: randomUUID(), correlationId: 'bench', now });
  };
  return { label, servers, nats, append };
}

const loadBefore = loadavg()[0] ?? 0;
const targets = [await target('oneNode', 1, 1), await target('cluster3R3', 3, 3)];

type Sample = Awaited<ReturnType<typeof measure>>;
const results: Record<number, Record<Target['label'], Sample[]>> = {};
for (const concurrency of concurrencies) {
  const samples: Record<Target['label'], Sample[]> = { oneNode: [], cluster3R3: [] };
  results[concurrency] = samples;
  for (const { append } of targets) await measure(200, concurrency, append); // warm-up: connections, JIT, head caches
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so neither side always runs on a warmer machine.
    for (const { label, append } of r % 2 === 0 ? targets : [...targets].reverse()) samples[label].push(await measure(ops, concurrency, append));
  }
}

const summarize = (samples: Sample[]) => ({
  appendsPerSecond: round(median(samples.map((s) => s.opsPerSecond)), 0),
  p50Ms: round(median(samples.map((s) => s.p50))),
  p99Ms: round(median(samples.map((s) => s.p99))),
});
const summary = Object.entries(results).map(([concurrency, { oneNode, cluster3R3 }]) => {
  const one = summarize(oneNode);
  const three = summarize(cluster3R3);
  return { concurrency: Number(concurrency), oneNode: one, cluster3R3: three, clusterToOneNode: round(three.appendsPerSecond / one.appendsPerSecond) };
});

console.log(`event appends: one nats-server (R1) vs a 3-node cluster (R3) on this machine, sync_interval always; ${rounds} alternating rounds of ${ops} appends, medians`);
console.table(summary.map(({ concurrency, oneNode, cluster3R3, clusterToOneNode }) => ({
  concurrency,
  'one node /s': oneNode.appendsPerSecond,
  'one node p50 ms': oneNode.p50Ms,
  'one node p99 ms': oneNode.p99Ms,
  'R3 cluster /s': cluster3R3.appendsPerSecond,
  'R3 p50 ms': cluster3R3.p50Ms,
  'R3 p99 ms': cluster3R3.p99Ms,
  'R3 / one': clusterToOneNode,
})));

const resultsFile = new URL('./results/scale.json', import.meta.url);
const previous: Record<string, unknown> = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, unknown>) : {};
const file = writeResults('scale', {
  ...previous,
  appends: {
    measuredAt: new Date().toISOString(),
    command: `npm run bench:scale:appends -- --rounds ${rounds} --ops ${ops} --concurrency ${values.concurrency} --aggregates ${aggregates}`,
    setup: 'one nats-server (EVENTS with 1 replica) vs three nats-server nodes on loopback routes (EVENTS with 3 replicas), same machine, sync_interval always',
    node: process.version,
    // Other work on the machine shifts both sides alike (alternating rounds), but not the absolute figures.
    machine: { cpus: cpus().length, loadAverage1mBefore: round(loadBefore, 1), loadAverage1mAfter: round(loadavg()[0] ?? 0, 1) },
    results: summary,
  },
});
console.log(`written to ${file} (key appends)`);
for (const { nats, servers } of targets) {
  await nats.close();
  await servers.stop();
}
