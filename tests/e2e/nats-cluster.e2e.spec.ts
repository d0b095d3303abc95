/**
 * The whole system on a JetStream cluster of its own (3 nodes, EVENT_STREAM_REPLICAS=3) under a
 * steady load of passenger renames through the gateway, each with an Idempotency-Key and retried
 * on a coded retryable error as an app would. The event stream's leader is killed (kill -9), the
 * cluster elects another, the node comes back with its store: every acknowledged rename is in
 * the log exactly once, the read model converges on it, clients saw only SERVICE_UNAVAILABLE
 * meanwhile, and the election gap (from the kill to the first acknowledged append of a request
 * sent after it) is printed. The nodes' logs must show no permission violation.
 */
import { connectNats, EVENTS_STREAM, JetStreamEventStore, LEASES_BUCKET, PULL_EXPIRES_MS, pullExpiryFor, type Nats } from '@happyride/eventstore';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchActors } from '../support/dispatch.ts';
import { eventually, graphqlClient, tokenFor, type GraphQLResponse } from '../support/graphql-client.ts';
import { startTestNatsCluster, type TestNatsCluster } from '../support/nats-cluster.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, subscriptionClient } from '../support/websocket.ts';

let cluster: TestNatsCluster;
let system: Awaited<ReturnType<typeof startTestSystem>>;
let admin: Nats;
let gql: ReturnType<typeof graphqlClient>;

beforeAll(async () => {
  cluster = await startTestNatsCluster(3);
  system = await startTestSystem({ EVENT_STREAM_REPLICAS: '3' }, { natsUrl: cluster.url });
  admin = await connectNats(cluster.url, 'e2e-nats-cluster');
  gql = graphqlClient(system.gatewayUrl);
}, 300_000);
afterAll(async () => {
  await admin?.close();
  await system?.stop();
  const violations = cluster?.violations() ?? [];
  await cluster?.stop();
  if (violations.length > 0) throw new Error(`the cluster's nodes logged ${violations.length} violation(s):\n${violations.slice(0, 20).join('\n')}`);
});

const REGISTER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id version } }';
const RENAME = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id name version } }';
const PASSENGER = 'query ($id: ID!) { passenger(id: $id) { name version } }';

/** What a client may see while the cluster elects a leader: retry the same request later. */
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE']);
const WRITERS = 6;

interface Ack {
  passengerId: string;
  name: string;
  version: number;
  sentAt: number;
  ackedAt: number;
}

/** One GraphQL POST with an Idempotency-Key, as an app sends a mutation it may retry. */
async function post<T>(query: string, token: string, variables: Record<string, unknown>, key: string): Promise<GraphQLResponse<T>> {
  const response = await fetch(system.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': key },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
}

/**
 * Writers, one per passenger, each renaming its passenger again and again until `stop()`; a
 * rename answered with a retryable code is sent again with the same key until it is
 * acknowledged, so every rename a writer starts ends acknowledged.
 */
function steadyLoad(passengers: readonly { id: string; token: string }[]) {
  const acks: Ack[] = [];
  const errors: string[] = [];
  let running = true;
  const writers = passengers.map(async ({ id, token }) => {
    for (let n = 1; running; n++) {
      const name = `${id} #${n}`;
      const key = randomUUID();
      for (;;) {
        const sentAt = Date.now();
        const response = await post<{ updatePassengerDetails: { name: string; version: number } }>(RENAME, token, { name }, key);
        const renamed = response.data?.updatePassengerDetails;
        if (response.errors === undefined && renamed) {
          acks.push({ passengerId: id, name: renamed.name, version: renamed.version, sentAt, ackedAt: Date.now() });
          break;
        }
        const codes = response.errors?.map((error) => error.extensions?.code ?? `(no code: ${error.message})`) ?? ['(no data)'];
        errors.push(...codes);
        if (!codes.every((code) => RETRYABLE.has(code))) throw new Error(`rename answered ${JSON.stringify(response.errors)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });
  const done = Promise.all(writers);
  done.catch(() => {}); // awaited by stop(); an early failure shows there
  return {
    acks,
    errors,
    /** Waits until `ok` holds of the acknowledgements; fails after `timeoutMs`. */
    async until(what: string, ok: (acks: readonly Ack[]) => boolean, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ok(acks)) {
        if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (${acks.length} acknowledged, errors ${JSON.stringify(errors.slice(-5))})`);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, 20)), done]);
      }
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

/**
 * Polls a service's `/ready` every 100 ms until `stop()` and keeps each answer with its time:
 * what an orchestrator's probe would have seen.
 */
function watchReadiness(url: string) {
  const seen: { at: number; status: number; reason: string }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const at = Date.now();
      const answer = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5_000) }).then(
        async (response) => ({ status: response.status, reason: await response.text() }),
        (error: unknown) => ({ status: 0, reason: String(error) }),
      );
      seen.push({ at, ...answer });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await done;
    },
  };
}

/**
 * Reads each passenger's profile through the gateway again and again until `stop()`, keeping
 * every version seen with its time: how stale a client's reads were.
 */
function readLoop(passengers: readonly { id: string; token: string }[]) {
  const seen: { passengerId: string; version: number; at: number }[] = [];
  let running = true;
  const readers = passengers.map(async ({ id, token }) => {
    while (running) {
      const at = Date.now();
      const response = await gql<{ passenger: { version: number } | null }>(PASSENGER, { token, variables: { id } }).catch(() => undefined);
      const version = response?.data?.passenger?.version;
      if (version !== undefined) seen.push({ passengerId: id, version, at });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
  return {
    seen,
    async stop() {
      running = false;
      await Promise.all(readers);
    },
  };
}

/** Passengers registered through the gateway, each with a token of their own. */
async function registeredPassengers(count: number) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const id = `p-${randomUUID().slice(0, 8)}`;
      const token = await tokenFor('passenger', id);
      const registered = await post<{ registerPassenger: { version: number } }>(REGISTER, token, { name: id }, randomUUID());
      expect(registered.errors, JSON.stringify(registered.errors)).toBeUndefined();
      return { id, token };
    }),
  );
}

describe('a 3-node JetStream cluster (R3) losing its event stream leader under load', { timeout: 240_000 }, () => {
  it('given the cluster, then every consumer of the event log, durable or ordered, pulls with the short expiry that notices a dead node in seconds', async () => {
    const durable: string[] = [];
    for await (const info of admin.jsm.consumers.list(EVENTS_STREAM)) {
      if (pullExpiryFor(info).expires !== PULL_EXPIRES_MS) durable.push(info.name);
    }
    expect(durable).toEqual([]);
    const ordered = await admin.js.consumers.get(EVENTS_STREAM, { filter_subjects: ['events.driver.>'] });
    expect(pullExpiryFor(await ordered.info())).toEqual({ expires: PULL_EXPIRES_MS });
  });

  it('given renames acknowledged before, during and after kill -9 of the leader and its restart, then every one is in the log once, the read model converges and clients saw only retryable codes', async () => {
    expect((await admin.jsm.streams.info(EVENTS_STREAM)).config.num_replicas).toBe(3);
    const passengers = await registeredPassengers(WRITERS);
    const load = steadyLoad(passengers);
    await load.until('renames acknowledged before the kill', (acks) => acks.length >= 30);

    const readiness = watchReadiness(system.urls['passenger-commands']!);
    const leader = await cluster.streamLeader(admin.jsm, EVENTS_STREAM);
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    await load.until('renames sent after the kill acknowledged', (acks) => acks.filter((ack) => ack.sentAt > killedAt).length >= 20);
    await readiness.stop();
    const newLeader = await cluster.streamLeader(admin.jsm, EVENTS_STREAM);
    await leader.restart();
    const restartedAt = Date.now();
    await load.until('renames sent after the restart acknowledged', (acks) => acks.filter((ack) => ack.sentAt > restartedAt).length >= 20);
    await load.stop();

    const firstAfterKill = Math.min(...load.acks.filter((ack) => ack.sentAt > killedAt).map((ack) => ack.ackedAt));
    const electionGapMs = firstAfterKill - killedAt;
    const errorCounts = Object.fromEntries([...new Set(load.errors)].map((code) => [code, load.errors.filter((c) => c === code).length]));
    console.log(
      `[nats-cluster] leader ${leader.name} killed, ${newLeader.name} elected; election gap ${electionGapMs} ms; ${load.acks.length} renames acknowledged; errors seen: ${JSON.stringify(errorCounts)}`,
    );

    // the writer's /ready told the truth: not ready while the stream had no leader, and why
    const unready = readiness.seen.filter((probe) => probe.at > killedAt && probe.at < firstAfterKill && probe.status === 503);
    expect(unready.length, JSON.stringify(readiness.seen.filter((probe) => probe.at > killedAt).slice(0, 10))).toBeGreaterThan(0);
    expect(unready.map((probe) => probe.reason).join('\n')).toMatch(/event log/);
    const readyAgain = await eventually(() => fetch(`${system.urls['passenger-commands']}/ready`).then((response) => response.status), (status) => status === 200, 30_000);
    expect(readyAgain).toBe(200);

    // clients saw only coded retryable errors
    expect(load.errors.filter((code) => !RETRYABLE.has(code))).toEqual([]);
    expect(newLeader.name).not.toBe(leader.name);

    // every acknowledged rename is in the log, once, at the version it was acknowledged with
    const store = new JetStreamEventStore(admin.js, admin.jsm);
    for (const { id } of passengers) {
      const acked = load.acks.filter((ack) => ack.passengerId === id).sort((a, b) => a.version - b.version);
      const history = await store.read('passenger', id);
      const renames = history.events.flatMap((event) => (event.type === 'PassengerDetailsUpdated' ? [{ name: event.data.name, version: event.version }] : []));
      expect(renames).toEqual(acked.map(({ name, version }) => ({ name, version })));
    }

    // the read model converges on the last acknowledged rename of each passenger
    for (const { id, token } of passengers) {
      const last = load.acks.filter((ack) => ack.passengerId === id).reduce((a, b) => (b.version > a.version ? b : a));
      const seen = await eventually(
        () => gql<{ passenger: { name: string; version: number } | null }>(PASSENGER, { token, variables: { id } }),
        (response) => response.data?.passenger?.version === last.version,
        30_000,
      );
      expect(seen.data?.passenger).toEqual({ name: last.name, version: last.version });
    }

    // the restarted node caught up: every replica of the stream is current again
    const info = await eventually(
      () => admin.jsm.streams.info(EVENTS_STREAM),
      (i) => i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((peer) => peer.current),
      30_000,
    );
    expect(info.cluster?.replicas?.every((peer) => peer.current)).toBe(true);
  });

  it('given the failover behind, when a passenger follows their trip and cancels it, then the gateway still pushes the update it hears on NATS', async () => {
    // Given: the failover is behind for every stream, the KV buckets' too (a bucket whose
    // leader was on the killed node answers SERVICE_UNAVAILABLE until its own election is done).
    await eventually(
      async () => {
        const streams: { name: string; leader: string | undefined; current: boolean }[] = [];
        for await (const info of admin.jsm.streams.list()) {
          streams.push({ name: info.config.name, leader: info.cluster?.leader, current: (info.cluster?.replicas ?? []).length === 2 && (info.cluster?.replicas ?? []).every((peer) => peer.current) });
        }
        return streams;
      },
      (streams) => streams.length > 0 && streams.every((stream) => stream.leader !== undefined && stream.current),
      60_000,
    );
    const here = { lng: 116.3975, lat: 39.9087 };
    const there = { lng: 116.4066, lat: 39.8822 };
    await dispatchActors(system.gatewayUrl).onlineDriver(here);
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    await gql('mutation { registerPassenger(input: { name: "Ada" }) { id } }', { token });
    const requested = await gql<{ requestTrip: { id: string } }>('mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', {
      token,
      variables: { s: here, e: there },
    });
    const tripId = requested.data?.requestTrip.id;
    expect(tripId, JSON.stringify(requested.errors)).toBeDefined();
    await eventually(() => gql<{ trip: { id: string } | null }>('query ($t: ID!) { trip(id: $t) { id } }', { token, variables: { t: tripId } }), (r) => Boolean(r.data?.trip), 15_000);
    const client = subscriptionClient(system.gatewayUrl, token);
    const follow = collect<{ tripUpdates: { state: string } }>(client, 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id state } }', { t: tripId });
    try {
      await follow.next(1);
      await gql('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', { token, variables: { t: tripId } });
      await eventually(async () => follow.results.at(-1)?.data?.tripUpdates.state, (state) => state === 'CANCELLED', 15_000);
      expect(follow.results.at(-1)?.data?.tripUpdates.state).toBe('CANCELLED');
    } finally {
      follow.dispose();
      await client.dispose();
    }
  });

  it('given renames under load, when the node leading the worker-leases bucket is killed, then the projector keeps its leases and no read is staler than a few seconds plus the failover', async () => {
    // Given: every stream led and current again after the cases above, a steady load, and readers
    await eventually(
      async () => {
        const streams: { leader: string | undefined; current: boolean }[] = [];
        for await (const info of admin.jsm.streams.list()) streams.push({ leader: info.cluster?.leader, current: (info.cluster?.replicas ?? []).length === 2 && (info.cluster?.replicas ?? []).every((peer) => peer.current) });
        return streams;
      },
      (streams) => streams.length > 0 && streams.every((stream) => stream.leader !== undefined && stream.current),
      60_000,
    );
    const passengers = await registeredPassengers(WRITERS);
    const load = steadyLoad(passengers);
    const reads = readLoop(passengers);
    await load.until('renames acknowledged before the kill', (acks) => acks.length >= 30);

    // When: the node leading the leases bucket dies
    const leasesStream = `KV_${LEASES_BUCKET}`;
    const leader = await cluster.streamLeader(admin.jsm, leasesStream);
    // The projector's own consumers led by the same node fail over too (their leaders are elected alike).
    const consumersLedThere: string[] = [];
    for await (const info of admin.jsm.consumers.list(EVENTS_STREAM)) if (info.name.startsWith('projection-') && info.cluster?.leader === leader.name) consumersLedThere.push(info.name);
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    const newLeader = await eventually(() => cluster.streamLeader(admin.jsm, leasesStream), (node) => node.name !== leader.name, 60_000);
    await eventually(
      () => Promise.all(consumersLedThere.map((name) => admin.jsm.consumers.info(EVENTS_STREAM, name).then((info) => info.cluster?.leader, () => undefined))),
      (leaders) => leaders.every((name) => name !== undefined && name !== leader.name),
      { timeoutMs: 60_000, what: `new leaders of ${consumersLedThere.join(', ')}` },
    );
    const failoverMs = Date.now() - killedAt;
    await load.until('renames sent after the kill acknowledged', (acks) => acks.filter((ack) => ack.sentAt > killedAt).length >= 40, 60_000);
    await leader.restart();
    await load.stop();
    const lastAcks = passengers.map(({ id }) => load.acks.filter((ack) => ack.passengerId === id).reduce((a, b) => (b.version > a.version ? b : a)));
    await eventually(
      async () => reads.seen.length,
      () => lastAcks.every((last) => reads.seen.some((read) => read.passengerId === last.passengerId && read.version >= last.version)),
      { timeoutMs: 60_000, what: 'every last rename read back' },
    );
    await reads.stop();

    // Then: each rename acknowledged after the kill was read back within a few seconds plus the failover
    const staleness = load.acks
      .filter((ack) => ack.sentAt > killedAt)
      .map((ack) => {
        const firstRead = reads.seen.find((read) => read.passengerId === ack.passengerId && read.version >= ack.version && read.at >= ack.sentAt);
        return Math.max(0, (firstRead?.at ?? Infinity) - ack.ackedAt);
      });
    const worstMs = Math.max(...staleness);
    console.log(
      `[nats-cluster] leases bucket leader ${leader.name} killed, ${newLeader.name} elected; with ${consumersLedThere.length} projector consumers led there, failover ${failoverMs} ms; ${staleness.length} renames after the kill, read back within ${worstMs} ms at worst`,
    );
    // A few seconds, plus the failover, plus how long a pull takes to notice its consumer moved (two heartbeats: PULL_EXPIRES_MS).
    expect(worstMs).toBeLessThanOrEqual(5_000 + failoverMs + PULL_EXPIRES_MS);
    // … and the projector never gave up a lease: it rode the bucket's failover out
    const log = readFileSync(system.logFile, 'utf8');
    expect(log.split('\n').filter((line) => line.startsWith('projector') && line.includes('lost the lease'))).toEqual([]);
  });
});
