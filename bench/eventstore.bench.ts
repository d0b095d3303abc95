/**
 * `npm run bench:eventstore`: single-event appends with an expected version through the
 * JetStream event store, against raw JetStream publishes of the same payload on the same
 * server, in alternating rounds of one run. Prints medians and the ratio; writes
 * bench/results/eventstore.json. `--sync always` (the local servers' default: fsync before each
 * acknowledgement) or `--sync 2m` (nats-server's default) sets JetStream's sync_interval.
 */
import { bootstrapEventLog, connectNats, JetStreamEventStore, envelop } from '@happyride/eventstore';
import { startLocalServers } from '@happyride/local-servers';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { measure, median, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    ops: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '1,32' },
    aggregates: { type: 'string', default: '200' },
    sync: { type: 'string', default: 'always' },
  },
});
const rounds = Number(values.rounds);
const ops = Number(values.ops);
const aggregates = Number(values.aggregates);
const concurrencies = values.concurrency.split(',').map(Number);

const servers = await startLocalServers({ log: () => {}, natsSyncInterval: values.sync });
const nats = await connectNats(servers.natsUrl, 'bench-eventstore');
await bootstrapEventLog(nats.jsm, []);
const store = new JetStreamEventStore(nats.js, nats.jsm);
const now = new Date().toISOString();

// One aggregate per in-flight writer slot, so concurrent appends never conflict.
const run = randomUUID().slice(0, 6);
const ids = Array.from({ length: aggregates }, (_, i) => `bench-${run}-${i}`);
const versions = new Map<string, number>(ids.map((id) => [id, 0]));
const event = (id: string, n: number) => ({ type: 'PassengerDetailsUpdated' as const, data: { passengerId: id, name: `Name ${n}` } });
const samplePayload = JSON.stringify(envelop('passenger', 'sample', [event('sample', 1)], 0, { commandId: randomUUID(), correlationId: randomUUID(), now }));

let counter = 0;
async function append(i: number) {
  const id = ids[i % ids.length]!;
  const version = versions.get(id)!;
  versions.set(id, version + 1); // reserved before the await: the slot owns this aggregate
  await store.append('passenger', id, [event(id, counter++)], version, { commandId: randomUUID(), correlationId: 'bench', now });
}
async function rawPublish(i: number) {
  await nats.js.publish(`events.passenger.raw-${run}-${i % ids.length}`, samplePayload);
}

type Sample = { opsPerSecond: number; p50: number; p99: number };
const results: Record<string, { append: Sample[]; raw: Sample[] }> = {};
for (const concurrency of concurrencies) {
  if (concurrency > ids.length) throw new Error(`--concurrency ${concurrency} needs at least as many --aggregates`);
  results[concurrency] = { append: [], raw: [] };
  await measure(200, concurrency, append); // warm-up: connections, JIT, head caches
  await measure(200, concurrency, rawPublish);
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so neither side always runs on a warmer server.
    const pair = round % 2 === 0 ? ['append', 'raw'] as const : ['raw', 'append'] as const;
    for (const side of pair) {
      const concurrentSafe = side === 'append' ? (i: number) => append(i) : rawPublish;
      results[concurrency]![side].push(await measure(ops, concurrency, concurrentSafe));
    }
  }
}

const summary = Object.entries(results).map(([concurrency, { append, raw }]) => {
  const appendRate = median(append.map((s) => s.opsPerSecond));
  const rawRate = median(raw.map((s) => s.opsPerSecond));
  return {
    concurrency: Number(concurrency),
    appendsPerSecond: round(appendRate, 0),
    appendP50Ms: round(median(append.map((s) => s.p50))),
    appendP99Ms: round(median(append.map((s) => s.p99))),
    rawPublishesPerSecond: round(rawRate, 0),
    rawP50Ms: round(median(raw.map((s) => s.p50))),
    rawP99Ms: round(median(raw.map((s) => s.p99))),
    ratio: round(appendRate / rawRate),
  };
});

console.log(`event store appends vs raw JetStream publishes (sync_interval ${values.sync}): ${rounds} alternating rounds of ${ops} ops, medians`);
console.table(summary);
const file = writeResults(values.sync === 'always' ? 'eventstore' : `eventstore-sync-${values.sync}`, {
  benchmark: 'eventstore',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:eventstore -- --rounds ${rounds} --ops ${ops} --concurrency ${values.concurrency} --aggregates ${aggregates} --sync ${values.sync}`,
  syncInterval: values.sync,
  target: 'ratio >= 0.7',
  node: process.version,
  results: summary,
});
console.log(`written to ${file}`);
await nats.close();
await servers.stop();
