/**
 * NATS or MongoDB stalls (SIGSTOP on the server's pid: connections stay open, nothing answers,
 * the worst case for a client) under a running system: clients get SERVICE_UNAVAILABLE with a
 * retry hint within a bound, never INTERNAL_SERVER_ERROR or a stack trace; readiness turns 503
 * without hanging; after SIGCONT everything answers again. A stalled subgraph is the gateway's
 * case: it gives up on it after SUBGRAPH_TIMEOUT_MS. This file stalls servers of its own
 * (its nats-server, a FerretDB started here), never the run's shared ones.
 */
import { startLocalServers, type LocalServers } from '@happyride/local-servers';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { codes, eventually, graphqlClient, tokenFor, type GraphQLResponse } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { listeningPid, stallProcess } from '../support/server-process.ts';
import { startTestSystem } from '../support/system.ts';

let mongo: LocalServers;
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
const stalled = new Set<number>();

beforeAll(async () => {
  mongo = await startLocalServers({ env: { NATS_URL: natsUrl() }, log: () => {} });
  // Above the subgraphs' own 2 s bounds toward NATS and MongoDB, so those answer first.
  system = await startTestSystem({ SUBGRAPH_TIMEOUT_MS: String(SUBGRAPH_TIMEOUT_MS) }, { mongoUrl: mongo.mongoUrl });
  gql = graphqlClient(system.gatewayUrl);
});
afterEach(() => {
  for (const pid of stalled) process.kill(pid, 'SIGCONT');
  stalled.clear();
});
afterAll(async () => {
  await system?.stop();
  await mongo?.stop();
});

const stall = async (pid: number) => {
  stalled.add(pid);
  await stallProcess(pid);
};
const resume = (pid: number) => {
  process.kill(pid, 'SIGCONT');
  stalled.delete(pid);
};

/** A request and how long it took to answer. */
async function timed<T>(request: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await request();
  return { value, ms: performance.now() - started };
}
const readyStatus = async (base: string) => (await fetch(`${base}/ready`, { signal: AbortSignal.timeout(10_000) })).status;

/** The generous bound the task sets for "within about 2 s" on a loaded machine. */
const BOUND_MS = 4_000;
const SUBGRAPH_TIMEOUT_MS = 5_000;

const REGISTER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id name version } }';
const RENAME = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id name version } }';
const PASSENGER = 'query ($id: ID!) { passenger(id: $id) { id name version } }';

function expectServiceUnavailable(response: GraphQLResponse) {
  expect(codes(response)).toEqual(['SERVICE_UNAVAILABLE']);
  expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 });
  expect(JSON.stringify(response.errors)).not.toMatch(/stack|INTERNAL_SERVER_ERROR|127\.0\.0\.1|ECONN/i);
}

describe('NATS stalls under a running system', { timeout: 120_000 }, () => {
  it('given NATS stopped, then a mutation answers SERVICE_UNAVAILABLE within the bound, command subgraph and gateway are unready; after it resumes, all recover', async () => {
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    expect((await gql(REGISTER, { token, variables: { name: 'Ada' } })).errors).toBeUndefined();
    const nats = listeningPid(natsUrl());

    await stall(nats);

    const mutation = await timed(() => gql(RENAME, { token, variables: { name: 'Grace' } }));
    expectServiceUnavailable(mutation.value);
    expect(mutation.value.errors?.[0]?.message).toMatch(/event log/);
    expect(mutation.ms).toBeLessThan(BOUND_MS);
    const commandsReady = await timed(() => readyStatus(system.urls['passenger-commands']!));
    expect(commandsReady.value).toBe(503);
    expect(commandsReady.ms).toBeLessThan(BOUND_MS);
    const gatewayReady = await eventually(() => timed(() => readyStatus(system.urls.gateway!)), (answer) => answer.value === 503, 10_000);
    expect(gatewayReady.value).toBe(503);
    expect(gatewayReady.ms).toBeLessThan(BOUND_MS);

    resume(nats);

    const renamed = await eventually(() => gql(RENAME, { token, variables: { name: 'Grace' } }), (response) => response.errors === undefined, 30_000);
    expect(renamed.data).toEqual({ updatePassengerDetails: { id, name: 'Grace', version: 2 } });
    expect(await eventually(() => readyStatus(system.urls['passenger-commands']!), (status) => status === 200, 15_000)).toBe(200);
    expect(await eventually(() => readyStatus(system.urls.gateway!), (status) => status === 200, 15_000)).toBe(200);
  });
});

describe('MongoDB (FerretDB) stalls under a running system', { timeout: 120_000 }, () => {
  it('given MongoDB stopped, then a query answers SERVICE_UNAVAILABLE within the bound and the query subgraph is unready; after it resumes, queries answer again', async () => {
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    expect((await gql(REGISTER, { token, variables: { name: 'Ada' } })).errors).toBeUndefined();
    const seen = await eventually(() => gql(PASSENGER, { token, variables: { id } }), (response) => response.data?.['passenger'] != null, 15_000);
    expect(seen.data).toEqual({ passenger: { id, name: 'Ada', version: 1 } });
    const ferretdb = listeningPid(mongo.mongoUrl);

    await stall(ferretdb);

    const query = await timed(() => gql(PASSENGER, { token, variables: { id } }));
    expectServiceUnavailable(query.value);
    expect(query.ms).toBeLessThan(BOUND_MS);
    const queriesReady = await timed(() => readyStatus(system.urls['profile-queries']!));
    expect(queriesReady.value).toBe(503);
    expect(queriesReady.ms).toBeLessThan(BOUND_MS);

    resume(ferretdb);

    const again = await eventually(() => gql(PASSENGER, { token, variables: { id } }), (response) => response.errors === undefined, 30_000);
    expect(again.data).toEqual({ passenger: { id, name: 'Ada', version: 1 } });
    expect(await eventually(() => readyStatus(system.urls['profile-queries']!), (status) => status === 200, 15_000)).toBe(200);
  });
});

describe('a subgraph stalls under a running system', { timeout: 120_000 }, () => {
  it('given profile-queries stopped (SIGSTOP), then the gateway answers SERVICE_UNAVAILABLE naming it after SUBGRAPH_TIMEOUT_MS and stays healthy; after it resumes, queries answer again', async () => {
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    expect((await gql(REGISTER, { token, variables: { name: 'Ada' } })).errors).toBeUndefined();
    await eventually(() => gql(PASSENGER, { token, variables: { id } }), (response) => response.data?.['passenger'] != null, 15_000);
    const subgraph = system.pid('profile-queries');
    if (subgraph === undefined) throw new Error('profile-queries is not running');

    await stall(subgraph);

    const query = await timed(() => gql(PASSENGER, { token, variables: { id } }));
    expectServiceUnavailable(query.value);
    expect(query.value.errors?.[0]?.message).toBe(`The profile-queries service did not answer within ${SUBGRAPH_TIMEOUT_MS} ms; try again shortly.`);
    expect(query.ms).toBeGreaterThanOrEqual(SUBGRAPH_TIMEOUT_MS - 100);
    expect(query.ms).toBeLessThan(SUBGRAPH_TIMEOUT_MS + BOUND_MS);
    // the gateway itself still answers, and turns unready naming the stalled subgraph
    expect((await fetch(`${system.urls.gateway}/health`, { signal: AbortSignal.timeout(BOUND_MS) })).status).toBe(200);
    expect(await eventually(() => readyStatus(system.urls.gateway!), (status) => status === 503, 15_000)).toBe(503);

    resume(subgraph);

    const again = await eventually(() => gql(PASSENGER, { token, variables: { id } }), (response) => response.errors === undefined, 30_000);
    expect(again.data).toEqual({ passenger: { id, name: 'Ada', version: 1 } });
  });
});
