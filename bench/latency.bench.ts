/**
 * `npm run bench:latency`: how long from "mutation accepted" (its HTTP response) until the
 * change is visible through the gateway's query, at a steady load, over the whole system as
 * real processes (the same launcher as `npm start`). Prints p50/p99 of the mutation round
 * trip, of the visibility lag after acceptance, and of one query round trip, so the time can
 * be placed; writes bench/results/latency.json.
 */
import { DEV_JWT_SECRET, signToken } from '@happyride/platform';
import { startLocalServers } from '@happyride/local-servers';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startSystem } from '../scripts/system.ts';
import { percentile, round, writeResults } from './stats.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '20' },
    users: { type: 'string', default: '50' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const users = Number(values.users);

const servers = await startLocalServers({ log: () => {} });
const system = await startSystem({
  natsUrl: servers.natsUrl,
  mongoUrl: servers.mongoUrl,
  ports: 'free',
  env: { MONGODB_DATABASE: `bench_${randomUUID().slice(0, 6)}`, RATE_LIMIT_PER_MINUTE: '0' },
});

async function gql(query: string, token: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(system.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Record<string, { version?: number } | null>; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const RENAME = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { version } }';
const READ = 'query ($id: ID!) { passenger(id: $id) { version } }';

// Given: registered passengers, projected.
const people = await Promise.all(
  Array.from({ length: users }, async (_, i) => {
    const id = `lat-${randomUUID().slice(0, 6)}-${i}`;
    const token = await signToken({ id, role: 'passenger' }, process.env.JWT_SECRET ?? DEV_JWT_SECRET);
    await gql('mutation { registerPassenger(input: { name: "Bench" }) { id } }', token);
    return { id, token, busy: false, n: 0 };
  }),
);

const mutation: number[] = [];
const visibility: number[] = [];
const query: number[] = [];
let skipped = 0;

async function one(person: (typeof people)[number]) {
  person.busy = true;
  try {
    const t0 = performance.now();
    const { updatePassengerDetails } = await gql(RENAME, person.token, { name: `Bench ${++person.n}` });
    const accepted = performance.now();
    mutation.push(accepted - t0);
    const version = updatePassengerDetails!.version!;
    for (;;) {
      const q0 = performance.now();
      const { passenger } = await gql(READ, person.token, { id: person.id });
      query.push(performance.now() - q0);
      if ((passenger?.version ?? 0) >= version) break;
    }
    visibility.push(performance.now() - accepted);
  } finally {
    person.busy = false;
  }
}

// When: a steady `rate` of renames per second for `seconds`, spread over the users.
const running: Promise<void>[] = [];
const interval = 1000 / rate;
const end = performance.now() + seconds * 1000;
for (let i = 0, next = performance.now(); next < end; i++, next += interval) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
  const person = people[i % people.length]!;
  if (person.busy) skipped++;
  else running.push(one(person));
}
await Promise.all(running);

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: round(percentile(sorted, 50), 2), p99Ms: round(percentile(sorted, 99), 2) };
};
const results = {
  benchmark: 'latency',
  measuredAt: new Date().toISOString(),
  command: `npm run bench:latency -- --rate ${rate} --seconds ${seconds} --users ${users}`,
  target: 'visibility p99 <= 50 ms (mutation accepted → visible through the gateway query)',
  path: 'updatePassengerDetails → JetStream → passengers projector → FerretDB → passenger(id) through the gateway',
  skippedBecauseUserBusy: skipped,
  mutationRoundTrip: summary(mutation),
  visibilityAfterAccept: summary(visibility),
  queryRoundTrip: summary(query),
};
console.log(JSON.stringify(results, null, 2));
console.log(`written to ${writeResults('latency', results)}`);
await system.stop();
await servers.stop();
