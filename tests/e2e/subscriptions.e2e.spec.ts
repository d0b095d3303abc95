import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { directiveSubscription, PLACEMENTS } from '../support/directive-subscriptions.ts';
import { dispatchActors } from '../support/dispatch.ts';
import { until } from '../support/eventually.ts';
import { hostileConnectionInit } from '../support/hostile-connection-params.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, rawSocket, subscriptionClient } from '../support/websocket.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;

beforeAll(async () => {
  system = await startTestSystem({ WS_CONNECTION_INIT_TIMEOUT_MS: '500' });
  gql = graphqlClient(system.gatewayUrl);
});
afterAll(() => system?.stop());

const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };
const FOLLOW = `subscription ($t: ID!) { tripUpdates(tripId: $t) { id state passengerName passenger { name } version } }`;

async function passengerWithTrip() {
  // A driver nearby keeps the confirmed trip DISPATCHING (cancellable), not DISPATCH_FAILED at once.
  await dispatchActors(system.gatewayUrl).onlineDriver(here);
  const id = `p-${randomUUID().slice(0, 8)}`;
  const token = await tokenFor('passenger', id);
  await gql('mutation { registerPassenger(input: { name: "Ada" }) { id } }', { token });
  const requested = await gql<{ requestTrip: { id: string } }>(
    'mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }',
    { token, variables: { s: here, e: there } },
  );
  const tripId = requested.data!.requestTrip.id;
  await eventually(() => gql<{ trip: { id: string } | null }>('query ($t: ID!) { trip(id: $t) { id } }', { token, variables: { t: tripId } }), (r) => Boolean(r.data?.trip));
  return { id, token, tripId };
}

describe('tripUpdates over graphql-ws through the gateway', () => {
  it('given a passenger following their trip, when they cancel it and rename themself, then each change is pushed with fields from every subgraph', async () => {
    const { token, tripId } = await passengerWithTrip();
    const client = subscriptionClient(system.gatewayUrl, token);
    const follow = collect<{ tripUpdates: { state: string; passengerName: string; passenger: { name: string } } }>(client, FOLLOW, { t: tripId });
    try {
      const [first] = await follow.next(1);
      // CREATED, or already CONFIRMED by the creation saga (a short trip needs no payment), or offered by dispatch.
      expect(first?.data?.tripUpdates).toMatchObject({ id: tripId, passengerName: 'Ada', passenger: { name: 'Ada' } });
      expect(['CREATED', 'CONFIRMED', 'DISPATCHING']).toContain(first?.data?.tripUpdates.state);

      await gql('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', { token, variables: { t: tripId } });
      await eventually(async () => follow.results.at(-1)?.data?.tripUpdates.state, (state) => state === 'CANCELLED');
      expect(follow.results.at(-1)?.data?.tripUpdates.state).toBe('CANCELLED');

      await gql('mutation { updatePassengerDetails(input: { name: "Ada L." }) { id } }', { token });
      await eventually(async () => follow.results.at(-1)?.data?.tripUpdates.passengerName, (name) => name === 'Ada L.');
      expect(follow.results.at(-1)?.data?.tripUpdates).toMatchObject({ passengerName: 'Ada L.' });
    } finally {
      follow.dispose();
      await client.dispose();
    }
  });

  it("given someone else's trip, when subscribing, then an error with FORBIDDEN arrives and the socket serves the next subscription", async () => {
    const { tripId } = await passengerWithTrip();
    const mine = await passengerWithTrip();
    const client = subscriptionClient(system.gatewayUrl, mine.token);
    try {
      const theirs = collect(client, FOLLOW, { t: tripId });
      await theirs.settled();
      expect(JSON.stringify(theirs.errors)).toContain('FORBIDDEN');
      const own = collect<{ tripUpdates: { id: string } }>(client, FOLLOW, { t: mine.tripId });
      expect((await own.next(1))[0]?.data?.tripUpdates.id).toBe(mine.tripId);
      own.dispose();
    } finally {
      await client.dispose();
    }
  });
});

describe('graphql-ws close codes at the gateway', () => {
  it('given no connection_init in time, then 4408', async () => {
    const socket = await rawSocket(system.gatewayUrl);
    expect((await socket.closed).code).toBe(4408);
  });

  it('given a bad token in connection_init, then 4403', async () => {
    const socket = await rawSocket(system.gatewayUrl);
    socket.send({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } });
    expect((await socket.closed).code).toBe(4403);
  });

  it('given no token at all, then 4403', async () => {
    const socket = await rawSocket(system.gatewayUrl);
    socket.send({ type: 'connection_init', payload: {} });
    expect((await socket.closed).code).toBe(4403);
  });

  it('given subscribe before the ack, then 4401', async () => {
    const socket = await rawSocket(system.gatewayUrl);
    socket.send({ type: 'subscribe', id: '1', payload: { query: FOLLOW, variables: { t: 'x' } } });
    expect((await socket.closed).code).toBe(4401);
  });

  it('given a second connection_init, then 4429', async () => {
    const socket = await rawSocket(system.gatewayUrl);
    const init = { type: 'connection_init', payload: { authorization: `Bearer ${await tokenFor('admin', 'ops')}` } };
    socket.send(init);
    await eventually(async () => socket.messages.length, (n) => n > 0);
    socket.send(init);
    expect((await socket.closed).code).toBe(4429);
  });

  it('given an operation id already in use, then 4409', async () => {
    const { token, tripId } = await passengerWithTrip();
    const socket = await rawSocket(system.gatewayUrl);
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await eventually(async () => socket.messages.length, (n) => n > 0);
    socket.send({ type: 'subscribe', id: 'same', payload: { query: FOLLOW, variables: { t: tripId } } });
    await eventually(async () => socket.messages.filter((m) => m.type === 'next').length, (n) => n > 0);
    socket.send({ type: 'subscribe', id: 'same', payload: { query: FOLLOW, variables: { t: tripId } } });
    expect((await socket.closed).code).toBe(4409);
  });
});

describe('connection_init with another auth scheme, or no string where the token belongs', () => {
  it('given generated payloads (Basic and other schemes, malformed bearers, objects, arrays, numbers, huge strings), then each socket is closed 4403 (4400 when graphql-ws refuses the payload itself), never 4500', async () => {
    const named = { payload: { authorization: 'Basic dXNlcjpwYXNzd29yZA==' }, refusedByGraphqlWs: false };
    const cases = [named, ...fc.sample(hostileConnectionInit(), { numRuns: 11 })];
    for (const { payload, refusedByGraphqlWs } of cases) {
      const socket = await rawSocket(system.gatewayUrl);
      socket.send({ type: 'connection_init', payload });
      const { code } = await socket.closed;
      expect({ payload, code }).toEqual({ payload, code: refusedByGraphqlWs ? 4400 : 4403 });
    }
  });
});

describe('directives on a subscription root never skip its authorization', () => {
  /** How a subscribe ended: its first payload, or the codes of its error. */
  async function outcome(client: ReturnType<typeof subscriptionClient>, query: string, variables: Record<string, unknown>) {
    const follow = collect(client, query, variables);
    try {
      await until(() => follow.results.length > 0 || follow.errors.length > 0, { what: 'a payload or an error' });
      if (follow.results.length > 0) return { served: follow.results[0] };
      const [errors] = follow.errors as Array<Array<{ extensions?: { code?: string } }>>;
      return { refused: (errors ?? []).map((e) => e.extensions?.code) };
    } finally {
      follow.dispose();
    }
  }

  it("given generated subscription documents with @include/@skip (literal and variable conditions, on the root field, on fragments wrapping it, aliased), then for someone else's trip each is refused, and for one's own it is refused alike or served like the plain one", async () => {
    const other = await passengerWithTrip();
    const mine = await passengerWithTrip();
    const client = subscriptionClient(system.gatewayUrl, mine.token);
    try {
      const named = 'subscription ($t: ID!) { tripUpdates(tripId: $t) @include(if: false) { id } }';
      const plainOwn = await outcome(client, 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id } }', { t: mine.tripId });
      expect(plainOwn).toEqual({ served: { data: { tripUpdates: { id: mine.tripId } } } });
      // Three of each placement, so every one is tried on every run.
      const everythingSkipped = { query: 'subscription ($t: ID!) { tripUpdates(tripId: $t) { ... @include(if: false) { id } } }', variables: {}, responseKey: 'tripUpdates', selectsId: false };
      const documents = [{ query: named, variables: {}, responseKey: 'tripUpdates', selectsId: true }, everythingSkipped, ...PLACEMENTS.flatMap((placement) => fc.sample(directiveSubscription([placement]), { numRuns: 3 }))];
      for (const { query, variables, responseKey, selectsId } of documents) {
        const theirs = await outcome(client, query, { ...variables, t: other.tripId });
        const own = await outcome(client, query, { ...variables, t: mine.tripId });
        // Never served for their trip: FORBIDDEN as the plain document gets, or refused for its shape.
        expect({ query, theirs }).toEqual({ query, theirs: { refused: [expect.stringMatching(/^(FORBIDDEN|BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED)$/)] } });
        if ('served' in own) {
          expect({ query, theirs }).toEqual({ query, theirs: { refused: ['FORBIDDEN'] } });
          expect(Object.keys(own.served?.data ?? {})).toEqual([responseKey]);
          if (selectsId) expect(JSON.stringify(own.served)).toContain(mine.tripId);
        } else {
          // Refused for its shape: alike for both trips, whoever owns them.
          expect({ query, own }).toEqual({ query, own: theirs });
        }
      }
    } finally {
      await client.dispose();
    }
  });
});
