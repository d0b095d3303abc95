/**
 * Client retries are exact (API.md, Retries), through the real gateway: a mutation retried with
 * the same Idempotency-Key answers what the first attempt decided and changes nothing more, for
 * every write subgraph; and a passenger has at most one active trip, also when requests race.
 * The saga worker is left out, so requested trips stay CREATED (active) unless a test ends them.
 */
import { connectNats, KvTripSlots, replayCommits, type Nats } from '@happyride/eventstore';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, eventually, tokenFor, type GraphQLResponse } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { startTestSystem } from '../support/system.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let nats: Nats;

beforeAll(async () => {
  system = await startTestSystem({}, { without: ['saga-worker'] });
  nats = await connectNats(natsUrl(), 'e2e-idempotency');
}, 120_000);
afterAll(async () => {
  await nats?.close();
  await system?.stop();
});

const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };
const elsewhere = { lng: 116.42, lat: 39.95 };

const REGISTER_PASSENGER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id name version } }';
const RENAME = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id name version } }';
const PASSENGER = 'query ($id: ID!) { passenger(id: $id) { name } }';
const REGISTER_DRIVER = 'mutation ($name: String!) { registerDriver(input: { name: $name, vehicle: { plate: "AB 123", model: "Car" } }) { id name version online } }';
const REQUEST_TRIP = 'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id state version fare passengerId } }';
const CANCEL_TRIP = 'mutation ($t: ID!, $r: String!) { cancelTrip(input: { tripId: $t, reason: $r }) { id state version } }';
const TRIPS = 'query { trips(first: 10) { edges { node { id } } } }';

type Trip = { id: string; state: string; version: number; fare: number; passengerId: string };

/** One GraphQL POST, as an app sends it, with an Idempotency-Key when given. */
async function post<T = Record<string, unknown>>(
  url: string,
  query: string,
  { token, variables = {}, key }: { token: string; variables?: Record<string, unknown>; key?: string },
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
}

const gateway = <T = Record<string, unknown>>(query: string, options: Parameters<typeof post>[2]) => post<T>(system.gatewayUrl, query, options);

function ok<T>(response: GraphQLResponse<T>): T {
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!;
}

async function registeredPassenger(name = 'Ada') {
  const id = `p-${randomUUID().slice(0, 8)}`;
  const token = await tokenFor('passenger', id);
  ok(await gateway(REGISTER_PASSENGER, { token, variables: { name } }));
  return { id, token };
}

const requestTrip = (token: string, key?: string, end = there) =>
  gateway<{ requestTrip: Trip }>(REQUEST_TRIP, { token, variables: { s: here, e: end }, ...(key === undefined ? {} : { key }) });

/** The ids of every trip the log holds for this passenger (TripCreated), read from the stream itself. */
async function tripsInLog(passengerId: string): Promise<string[]> {
  const ids: string[] = [];
  await replayCommits(nats.js, ['events.trip.>'], async (batch) => {
    for (const { commit } of batch) {
      for (const event of commit.events) if (event.type === 'TripCreated' && event.data.passengerId === passengerId) ids.push(event.data.tripId);
    }
  });
  return ids;
}

describe('Idempotency-Key through the gateway', () => {
  it('given a requestTrip with a key, when it is sent again with the same key and input, then the same trip is answered and the log and the read model hold one trip', async () => {
    const passenger = await registeredPassenger();
    const key = randomUUID();

    const first = ok(await requestTrip(passenger.token, key)).requestTrip;
    const retry = ok(await requestTrip(passenger.token, key)).requestTrip;

    expect(retry).toEqual(first);
    expect(await tripsInLog(passenger.id)).toEqual([first.id]);
    const listed = await eventually(() => gateway<{ trips: { edges: { node: { id: string } }[] } }>(TRIPS, { token: passenger.token }), (r) => (r.data?.trips.edges.length ?? 0) > 0);
    expect(listed.data?.trips.edges.map((edge) => edge.node.id)).toEqual([first.id]);
  });

  it('given a used key, when it is sent with another input, then CONFLICT and nothing more is created', async () => {
    const passenger = await registeredPassenger();
    const key = randomUUID();
    const first = ok(await requestTrip(passenger.token, key)).requestTrip;

    const other = await requestTrip(passenger.token, key, elsewhere);

    expect(codes(other)).toEqual(['CONFLICT']);
    expect(other.errors?.[0]?.message).toMatch(/Idempotency-Key was already used for requestTrip/);
    expect(await tripsInLog(passenger.id)).toEqual([first.id]);
  });

  it('given a key of 101 characters (or an empty one), when a mutation is sent with it, then BAD_USER_INPUT and nothing is created', async () => {
    const passenger = await registeredPassenger();
    for (const key of ['k'.repeat(101), '']) {
      const response = await requestTrip(passenger.token, key);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0]?.message).toMatch(/Idempotency-Key header must be 1 to 100 characters/);
    }
    expect(await tripsInLog(passenger.id)).toEqual([]);
    expect(ok(await requestTrip(passenger.token, 'k'.repeat(100))).requestTrip.state).toBe('CREATED');
  });

  it('given a key used by one passenger, when another passenger sends the same key, then they get a trip of their own', async () => {
    const ada = await registeredPassenger('Ada');
    const bo = await registeredPassenger('Bo');
    const key = 'shared-key-1';

    const adas = ok(await requestTrip(ada.token, key)).requestTrip;
    const bos = ok(await requestTrip(bo.token, key)).requestTrip;

    expect(bos.id).not.toBe(adas.id);
    expect(bos.passengerId).toBe(bo.id);
    expect(await tripsInLog(bo.id)).toEqual([bos.id]);
  });

  it('given a rename with a key and a later different rename, when the first is retried, then it answers its first result and does not revert the later one', async () => {
    const passenger = await registeredPassenger('Ada');
    const renamedB = ok(await gateway<{ updatePassengerDetails: { name: string; version: number } }>(RENAME, { token: passenger.token, variables: { name: 'Ada B.' }, key: 'rename-1' }));
    ok(await gateway(RENAME, { token: passenger.token, variables: { name: 'Ada C.' }, key: 'rename-2' }));

    const retried = ok(await gateway<{ updatePassengerDetails: { name: string; version: number } }>(RENAME, { token: passenger.token, variables: { name: 'Ada B.' }, key: 'rename-1' }));

    expect(retried).toEqual(renamedB);
    const later = ok(await gateway<{ updatePassengerDetails: { version: number } }>(RENAME, { token: passenger.token, variables: { name: 'Ada C.' } }));
    expect(later.updatePassengerDetails.version).toBe(renamedB.updatePassengerDetails.version + 1); // C's rename, nothing after it
    const shown = await eventually(() => gateway<{ passenger: { name: string } }>(PASSENGER, { token: passenger.token, variables: { id: passenger.id } }), (r) => r.data?.passenger?.name === 'Ada C.');
    expect(shown.data?.passenger?.name).toBe('Ada C.');
  });

  it('given a driver registered with a key, when the registration is retried with it, then the first payload is answered (not "already registered")', async () => {
    const token = await tokenFor('driver', `d-${randomUUID().slice(0, 8)}`);
    const first = ok(await gateway(REGISTER_DRIVER, { token, variables: { name: 'Bo' }, key: 'register-1' }));

    const retry = await gateway(REGISTER_DRIVER, { token, variables: { name: 'Bo' }, key: 'register-1' });
    const withoutKey = await gateway(REGISTER_DRIVER, { token, variables: { name: 'Bo' } });

    expect(ok(retry)).toEqual(first);
    expect(codes(withoutKey)).toEqual(['CONFLICT']);
  });

  it('given a trip cancelled with a key, when the cancellation is retried with it, then the same answer comes back and nothing more is appended', async () => {
    const passenger = await registeredPassenger();
    const trip = ok(await requestTrip(passenger.token)).requestTrip;
    const cancel = { token: passenger.token, variables: { t: trip.id, r: 'plans changed' }, key: 'cancel-1' };
    const first = ok(await gateway<{ cancelTrip: { version: number } }>(CANCEL_TRIP, cancel));

    const retry = ok(await gateway(CANCEL_TRIP, cancel));
    const withoutKey = await gateway(CANCEL_TRIP, { ...cancel, key: undefined });

    expect(retry).toEqual(first);
    expect(first).toEqual({ cancelTrip: { id: trip.id, state: 'CANCELLED', version: 2 } });
    expect(codes(withoutKey)).toEqual(['CONFLICT']);
  });
});

describe('one active trip per passenger', () => {
  it('given a passenger with an active trip, when they request another, then CONFLICT naming it; once it is cancelled, they may', async () => {
    const passenger = await registeredPassenger();
    const first = ok(await requestTrip(passenger.token)).requestTrip;

    const second = await requestTrip(passenger.token);
    expect(codes(second)).toEqual(['CONFLICT']);
    expect(second.errors?.[0]?.message).toContain(`active trip ${first.id}`);

    ok(await gateway(CANCEL_TRIP, { token: passenger.token, variables: { t: first.id, r: 'wrong address' } }));
    expect(ok(await requestTrip(passenger.token)).requestTrip.state).toBe('CREATED');
  });

  it('given one passenger, when eight requests without keys race, then exactly one trip is created and the others are CONFLICT', async () => {
    const passenger = await registeredPassenger();

    const responses = await Promise.all(Array.from({ length: 8 }, () => requestTrip(passenger.token)));

    const created = responses.filter((response) => !response.errors);
    expect(created).toHaveLength(1);
    expect(responses.filter((response) => response.errors).map(codes)).toEqual(Array.from({ length: 7 }, () => ['CONFLICT']));
    expect(await tripsInLog(passenger.id)).toEqual([created[0]?.data?.requestTrip.id]);
  });
});

describe('a retry after the reply was lost', () => {
  it('given two attempts with one key reaching the trip-commands subgraph at once, when both finish, then both answer the one trip', async () => {
    const passenger = await registeredPassenger();
    const url = `${system.urls['trip-commands']}/graphql`;
    const attempt = () => post<{ requestTrip: Trip }>(url, REQUEST_TRIP, { token: passenger.token, variables: { s: here, e: there }, key: 'lost-reply' });

    const [a, b] = await Promise.all([attempt(), attempt()]);

    expect(ok(b)).toEqual(ok(a));
    expect(await tripsInLog(passenger.id)).toEqual([ok(a).requestTrip.id]);
  });

  it('given trip-commands killed (-9) while it handles a keyed requestTrip, when it is back and the request is retried, then the trip is created exactly once', { timeout: 120_000 }, async () => {
    const passenger = await registeredPassenger();
    const slots = await KvTripSlots.open(nats.js);
    const key = randomUUID();

    // When: the process dies once the request took the passenger's trip slot (just before or after the append).
    const lost = requestTrip(passenger.token, key);
    const slot = await eventually(() => slots.get(passenger.id), (stored) => stored !== null, 30_000);
    expect(slot).not.toBeNull();
    await system.kill('trip-commands', 'SIGKILL');
    await lost; // its answer is whatever the gateway makes of the dead subgraph: the client retries
    await system.restart('trip-commands');
    const retry = await eventually(() => requestTrip(passenger.token, key), (response) => !response.errors, 30_000);

    // Then: the retry answers the trip the slot was taken for, and the log holds it once.
    expect(ok(retry).requestTrip.id).toBe(slot?.slot.tripId);
    expect(await tripsInLog(passenger.id)).toEqual([slot?.slot.tripId]);
  });
});
