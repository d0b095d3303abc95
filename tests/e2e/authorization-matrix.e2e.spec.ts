/**
 * Every root field × every role, aimed at someone else's data, through the real gateway.
 * The cast: passenger P owns trip T, driven by driver D; passenger Q and driver E are
 * strangers to it; A is an admin. Expected: the owner and admin may act or see, strangers
 * get FORBIDDEN, anonymous callers UNAUTHENTICATED, and no answer leaks T to a stranger.
 * Then the same rules for `_entities` posted straight to the subgraphs, skipping the gateway.
 */
import { tripDecider } from '@happyride/domain';
import { commandHandler, connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { connectMongo, type Mongo } from '@happyride/platform';
import { DispatchOffers, SYSTEM_ACTOR } from '@happyride/sagas';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { codes, eventually, graphqlClient, tokenFor, type GraphQLResponse } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { natsUrl } from '../support/own-event-log.ts';

type Role = 'anonymous' | 'P' | 'Q' | 'D' | 'E' | 'A';
const roles: Role[] = ['anonymous', 'P', 'Q', 'D', 'E', 'A'];

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let mongo: Mongo;
const database = `e2e_${randomUUID().slice(0, 8)}`;
const id = { P: `p-${randomUUID().slice(0, 6)}`, Q: `q-${randomUUID().slice(0, 6)}`, D: `d-${randomUUID().slice(0, 6)}`, E: `e-${randomUUID().slice(0, 6)}`, A: 'ops', T: '' };
const token: Partial<Record<Role, string>> = {};
const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };

async function as(role: Role, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse> {
  return gql(query, { variables, ...(token[role] ? { token: token[role] } : {}) });
}

beforeAll(async () => {
  // Trips here are moved by hand with the commands the sagas send: no saga worker racing them.
  system = await startTestSystem({ MONGODB_DATABASE: database }, { without: ['saga-worker'] });
  gql = graphqlClient(system.gatewayUrl);
  token.P = await tokenFor('passenger', id.P);
  token.Q = await tokenFor('passenger', id.Q);
  token.D = await tokenFor('driver', id.D);
  token.E = await tokenFor('driver', id.E);
  token.A = await tokenFor('admin', id.A);
  for (const who of ['P', 'Q'] as const) await as(who, 'mutation { registerPassenger(input: { name: "Person" }) { id } }');
  for (const who of ['D', 'E'] as const) {
    await as(who, 'mutation { registerDriver(input: { name: "Driver", vehicle: { plate: "AB 123", model: "Car" } }) { id } }');
  }
  const requested = await as('P', 'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', { s: here, e: there });
  id.T = (requested.data as { requestTrip: { id: string } }).requestTrip.id;
  // Given T confirmed and assigned to D (the commands the saga and dispatch send, through the trip's command handler).
  nats = await connectNats(natsUrl(), 'e2e-authorization');
  const trips = commandHandler({ store: new JetStreamEventStore(nats.js, nats.jsm), aggregateType: 'trip', decider: tripDecider });
  const bySaga = () => ({ commandId: randomUUID(), actor: SYSTEM_ACTOR, now: new Date().toISOString() });
  const context = { correlationId: 'authorization-matrix' };
  await trips(id.T, { type: 'ConfirmTrip', data: { tripId: id.T }, metadata: bySaga() }, context);
  await trips(id.T, { type: 'StartDispatch', data: { tripId: id.T, candidateDriverIds: [id.D] }, metadata: bySaga() }, context);
  await as('D', 'mutation ($t: ID!, $p: PositionInput!) { acceptTrip(input: { tripId: $t, position: $p }) { id } }', { t: id.T, p: here });
  await trips(id.T, { type: 'AssignDriver', data: { tripId: id.T, driverId: id.D }, metadata: bySaga() }, context);
  // The read side has it, with both names.
  await eventually(
    () => as('A', 'query ($t: ID!) { trip(id: $t) { state driverName } }', { t: id.T }),
    (r) => (r.data as { trip?: { driverName?: string } } | undefined)?.trip?.driverName === 'Driver',
  );
}, 120_000);
afterAll(async () => {
  await nats?.close();
  await mongo?.close();
  await system?.stop();
});

/** `ok`: no error; `ok-without-T`: no error and trip T nowhere in the answer; else the error code. */
type Outcome = 'ok' | 'ok-without-T' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'CONFLICT';
interface Case {
  field: string;
  operation: string;
  variables: () => Record<string, unknown>;
  expected: Record<Role, Outcome>;
}

const Q = (operation: string, variables: () => Record<string, unknown>, expected: Partial<Record<Role, Outcome>>, field = operation.match(/\{\s*(\w+)/)![1]!): Case => ({
  field,
  operation,
  variables,
  expected: { anonymous: 'UNAUTHENTICATED', P: 'FORBIDDEN', Q: 'FORBIDDEN', D: 'FORBIDDEN', E: 'FORBIDDEN', A: 'FORBIDDEN', ...expected },
});

const cases: Case[] = [
  Q('query ($id: ID!) { passenger(id: $id) { id name } }', () => ({ id: id.P }), { P: 'ok', D: 'ok', A: 'ok' }),
  Q('query ($id: ID!) { driver(id: $id) { id name } }', () => ({ id: id.D }), { P: 'ok', D: 'ok', A: 'ok' }),
  Q('query ($id: ID!) { trip(id: $id) { id passengerName driverName } }', () => ({ id: id.T }), { P: 'ok', D: 'ok', A: 'ok' }),
  Q('query { myTrips { edges { node { id } } } }', () => ({}), { P: 'ok', Q: 'ok-without-T', D: 'ok', E: 'ok-without-T', A: 'ok-without-T' }),
  Q('query ($id: ID!) { trips(passengerId: $id) { edges { node { id } } } }', () => ({ id: id.P }), { P: 'ok', D: 'ok', E: 'ok-without-T', A: 'ok' }),
  Q('query ($id: ID!) { trips(driverId: $id) { edges { node { id } } } }', () => ({ id: id.D }), { P: 'ok', Q: 'ok-without-T', D: 'ok', A: 'ok' }),
  Q('query { tripStats { total } }', () => ({}), { A: 'ok' }),
  Q('mutation ($id: ID!) { updatePassengerDetails(input: { passengerId: $id, name: "Renamed" }) { id } }', () => ({ id: id.P }), { P: 'ok', A: 'ok' }),
  Q('mutation ($id: ID!) { banPassenger(input: { passengerId: $id }) { id } }', () => ({ id: id.Q }), { A: 'ok' }),
  Q('mutation ($id: ID!) { unbanPassenger(input: { passengerId: $id }) { id } }', () => ({ id: id.Q }), { A: 'ok' }),
  Q('mutation ($id: ID!) { updateDriverDetails(input: { driverId: $id, name: "Renamed D" }) { id } }', () => ({ id: id.D }), { D: 'ok', A: 'ok' }),
  // Registering is for oneself: the registered get CONFLICT, other roles FORBIDDEN.
  Q('mutation { registerPassenger(input: { name: "Again" }) { id } }', () => ({}), { P: 'CONFLICT', Q: 'CONFLICT' }),
  Q('mutation { registerDriver(input: { name: "Again", vehicle: { plate: "X 1", model: "Y" } }) { id } }', () => ({}), { D: 'CONFLICT', E: 'CONFLICT' }),
  Q('mutation { updateDriverLocation(input: { lng: 116.4, lat: 39.9 }) { id } }', () => ({}), { D: 'ok', E: 'ok' }),
  // Both passengers may request; P already has T active (one active trip per passenger): CONFLICT.
  Q('mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', () => ({ s: here, e: there }), { P: 'CONFLICT', Q: 'ok' }),
  Q('mutation ($t: ID!) { startTrip(input: { tripId: $t }) { id } }', () => ({ t: id.T }), {}, 'startTrip'),
  Q('mutation ($t: ID!) { finishTrip(input: { tripId: $t }) { id } }', () => ({ t: id.T }), {}, 'finishTrip'),
  Q('mutation ($t: ID!, $p: PositionInput!) { acceptTrip(input: { tripId: $t, position: $p }) { id } }', () => ({ t: id.T, p: here }), {}, 'acceptTrip'),
  Q('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "no" }) { id } }', () => ({ t: id.T }), {}, 'cancelTrip'),
  Q('mutation ($t: ID!) { respondToCancellation(input: { tripId: $t, agree: true }) { id } }', () => ({ t: id.T }), {}, 'respondToCancellation'),
];

// The rows whose owner/admin cell would change T's state are only asked of the others here;
// their owner paths are covered by drivers-and-trips.e2e.spec.ts.
const stateChanging = new Set(['startTrip', 'finishTrip', 'acceptTrip', 'cancelTrip', 'respondToCancellation']);
const ownerOfT: Role[] = ['P', 'D', 'A'];

describe('authorization matrix through the gateway', () => {
  for (const testCase of cases) {
    describe(testCase.field, () => {
      for (const role of roles) {
        if (stateChanging.has(testCase.field) && ownerOfT.includes(role)) continue;
        const expected = testCase.expected[role];
        it(`given ${role}, when calling ${testCase.field} on someone else's data, then ${expected}`, async () => {
          const response = await as(role, testCase.operation, testCase.variables());
          if (expected === 'ok' || expected === 'ok-without-T') {
            expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
            if (expected === 'ok-without-T') expect(JSON.stringify(response.data)).not.toContain(id.T);
          } else {
            expect(codes(response)).toEqual([expected]);
            expect(JSON.stringify(response.data ?? null)).not.toContain(id.T);
          }
        });
      }
    });
  }
});

/** `_entities` posted straight to a subgraph's URL, as a caller who skips the gateway would. */
async function entities(subgraph: 'trip-queries' | 'profile-queries', who: Role, representations: Array<{ __typename: string; id: string }>, fields: string) {
  const types = [...new Set(representations.map((r) => r.__typename))];
  const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ${types.map((t) => `... on ${t} { ${fields} }`).join(' ')} } }`;
  return graphqlClient(`${system.urls[subgraph]}/graphql`)(query, { variables: { r: representations }, ...(token[who] ? { token: token[who] } : {}) });
}
const entitiesOf = (response: GraphQLResponse) => (response.data as { _entities?: unknown[] } | null | undefined)?._entities;

describe('_entities straight to the subgraphs (no gateway) apply the root fields\' rules', () => {
  it('given no token, then UNAUTHENTICATED and no data, for trips and profiles', async () => {
    const trip = await entities('trip-queries', 'anonymous', [{ __typename: 'Trip', id: id.T }], 'id passengerName');
    const profile = await entities('profile-queries', 'anonymous', [{ __typename: 'Passenger', id: id.P }], 'id name');
    for (const response of [trip, profile]) {
      expect(codes(response)).toContain('UNAUTHENTICATED');
      expect(JSON.stringify(response.data ?? null)).not.toMatch(/Person|Driver/);
    }
  });

  it("given another passenger's trip, then the answer is the same as for an unknown trip", async () => {
    const theirs = await entities('trip-queries', 'Q', [{ __typename: 'Trip', id: id.T }], 'id passengerName');
    const unknown = await entities('trip-queries', 'Q', [{ __typename: 'Trip', id: randomUUID() }], 'id passengerName');
    expect(theirs.errors).toBeUndefined();
    expect(entitiesOf(theirs)).toEqual([null]);
    expect({ ...theirs }).toEqual({ ...unknown });
  });

  it('given the trip\'s passenger and its assigned driver, then they resolve it', async () => {
    for (const who of ['P', 'D'] as const) {
      expect(entitiesOf(await entities('trip-queries', who, [{ __typename: 'Trip', id: id.T }], 'id'))).toEqual([{ id: id.T }]);
    }
  });

  it("given a driver with no trip or offer of P's, then P's profile is null, as an unknown one is; the assigned driver D gets it", async () => {
    expect(entitiesOf(await entities('profile-queries', 'E', [{ __typename: 'Passenger', id: id.P }], 'id name'))).toEqual([null]);
    expect(entitiesOf(await entities('profile-queries', 'E', [{ __typename: 'Passenger', id: 'nobody' }], 'id name'))).toEqual([null]);
    expect(entitiesOf(await entities('profile-queries', 'D', [{ __typename: 'Passenger', id: id.P }], 'id name'))).toEqual([{ id: id.P, name: expect.any(String) }]);
    // and P sees their driver; Q does not
    expect(entitiesOf(await entities('profile-queries', 'P', [{ __typename: 'Driver', id: id.D }], 'id'))).toEqual([{ id: id.D }]);
    expect(entitiesOf(await entities('profile-queries', 'Q', [{ __typename: 'Driver', id: id.D }], 'id'))).toEqual([null]);
  });

  it("given an offer of R's trip OPEN to driver E, then E sees R's profile; once the offer expired, no longer", async () => {
    // given passenger R with a trip offered to E (dispatch's own read-model writer)
    const R = `r-${randomUUID().slice(0, 6)}`;
    const asR = await tokenFor('passenger', R);
    await gql('mutation { registerPassenger(input: { name: "Rider" }) { id } }', { token: asR });
    const requested = await gql<{ requestTrip: { id: string } }>('mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', { token: asR, variables: { s: here, e: there } });
    const tripId = requested.data!.requestTrip.id;
    await eventually(() => as('A', 'query ($id: ID!) { passenger(id: $id) { id } }', { id: R }), (r) => !r.errors);
    mongo ??= await connectMongo(inject('mongoUrl'), database, 'e2e-authorization');
    const offers = new DispatchOffers(mongo.db, nats);
    const profileOfR = () => entities('profile-queries', 'E', [{ __typename: 'Passenger', id: R }], 'id name');
    expect(entitiesOf(await profileOfR())).toEqual([null]);
    await offers.open({ tripId, passengerId: R, passengerName: 'Rider', start: here, end: there, distanceKm: 3, fare: 17.5 }, [id.E], new Date(Date.now() + 600_000).toISOString());
    // when the offer is open, then E gets R's profile, through _entities and through the gateway's offer
    expect(entitiesOf(await profileOfR())).toEqual([{ id: R, name: 'Rider' }]);
    const offer = await as('E', 'query ($t: ID!) { dispatchOffer(tripId: $t) { status passenger { name } } }', { t: tripId });
    expect(offer.data).toEqual({ dispatchOffer: { status: 'OPEN', passenger: { name: 'Rider' } } });
    // when it expires, then nothing more
    await offers.close(tripId, [id.E], 'EXPIRED');
    expect(entitiesOf(await profileOfR())).toEqual([null]);
    const closed = await as('E', 'query ($t: ID!) { dispatchOffer(tripId: $t) { status passengerName passenger { name } } }', { t: tripId });
    expect(closed.data).toEqual({ dispatchOffer: { status: 'EXPIRED', passengerName: 'Rider', passenger: null } });
    expect(codes(await as('E', 'query ($id: ID!) { passenger(id: $id) { name } }', { id: R }))).toEqual(['FORBIDDEN']);
  });
});
