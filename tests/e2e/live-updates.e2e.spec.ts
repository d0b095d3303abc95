import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchActors, offset, somewhereNew } from '../support/dispatch.ts';
import { eventually } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, subscriptionClient } from '../support/websocket.ts';

/**
 * Live updates through the real gateway: identical subscriptions share one read per notice, and
 * a dispatch offer whose read fails reaches the driver as a coded error. (Listening before the
 * first read and re-reading after a NATS reconnect are timed too finely to stage end to end:
 * `gateway/src/subscriptions/live-feeds.int.spec.ts` stages them on a real nats-server.)
 */
let system: Awaited<ReturnType<typeof startTestSystem>>;
let actors: ReturnType<typeof dispatchActors>;

beforeAll(async () => {
  // Dispatch waits (an hour per check), so a trip stays DISPATCHING and cancellable.
  system = await startTestSystem({ DISPATCH_CHECK_INTERVAL_MS: '3600000' });
  actors = dispatchActors(system.gatewayUrl);
}, 180_000);
afterAll(() => system?.stop());

const FOLLOW = 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id state passengerName version } }';
const OFFERS = 'subscription { dispatchOffers { tripId status passengerName } }';

/** The gateway's `graphql_subscription_reads`: reads made through the graph for live subscriptions. */
async function subscriptionReads(): Promise<number> {
  const text = await (await fetch(`${system.urls['gateway-metrics']}/metrics`)).text();
  const value = /^graphql_subscription_reads(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error('graphql_subscription_reads is not exported');
  return Number(value);
}

describe('one notice, one read', () => {
  it('given 5 sockets × 10 identical tripUpdates subscriptions of one passenger, when the trip is cancelled, then all 50 get CANCELLED while the gateway reads it only a few times', async () => {
    const here = somewhereNew();
    await actors.onlineDriver(offset(here, 1)); // keeps the trip DISPATCHING, so it can be cancelled
    const passenger = await actors.passenger('Ada');
    const tripId = await actors.requestTrip(passenger.token, here);
    await actors.waitForState(tripId, ['CONFIRMED', 'DISPATCHING']);
    const clients = Array.from({ length: 5 }, () => subscriptionClient(system.gatewayUrl, passenger.token));
    const follows = clients.flatMap((client) => Array.from({ length: 10 }, () => collect<{ tripUpdates: { state: string } }>(client, FOLLOW, { t: tripId })));
    try {
      await Promise.all(follows.map((follow) => follow.next(1, 30_000)));
      expect(follows.every((follow) => follow.results.length >= 1 && follow.errors.length === 0)).toBe(true);
      const before = await subscriptionReads();

      await actors.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', passenger.token, { t: tripId });
      const cancelled = () => follows.filter((follow) => follow.results.at(-1)?.data?.tripUpdates.state === 'CANCELLED').length;
      await eventually(async () => cancelled(), (n) => n === follows.length, 30_000);

      expect(cancelled()).toBe(50);
      const reads = (await subscriptionReads()) - before;
      // One read per notice of the trip (its cancellation, then whatever dispatch and payment change after), not one per subscriber.
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThanOrEqual(10);
    } finally {
      for (const follow of follows) follow.dispose();
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});

describe('a feed is keyed on the variables its subscription uses', () => {
  it('given 12 tripUpdates subscriptions of one passenger, each with its own generated junk variables beside $t, when the trip is cancelled, then all get CANCELLED from one shared feed', async () => {
    const here = somewhereNew();
    await actors.onlineDriver(offset(here, 1)); // keeps the trip DISPATCHING, so it can be cancelled
    const passenger = await actors.passenger('Ada');
    const tripId = await actors.requestTrip(passenger.token, here);
    await actors.waitForState(tripId, ['CONFIRMED', 'DISPATCHING']);
    const junk = fc.sample(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }).filter((name) => name !== 't'), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 4 }),
      { numRuns: 12, seed: Date.now() },
    );
    const clients = Array.from({ length: 3 }, () => subscriptionClient(system.gatewayUrl, passenger.token));
    const follows = junk.map((variables, i) => collect<{ tripUpdates: { state: string } }>(clients[i % clients.length]!, FOLLOW, { ...variables, t: tripId }));
    try {
      await Promise.all(follows.map((follow) => follow.next(1, 30_000)));
      expect(follows.map((follow) => follow.errors)).toEqual(follows.map(() => []));
      const before = await subscriptionReads();

      await actors.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', passenger.token, { t: tripId });
      const cancelled = () => follows.filter((follow) => follow.results.at(-1)?.data?.tripUpdates.state === 'CANCELLED').length;
      await eventually(async () => cancelled(), (n) => n === follows.length, 30_000);

      expect(cancelled()).toBe(12);
      // One read per notice for all 12 (junk split them into 12 feeds: 12 reads per notice).
      const reads = (await subscriptionReads()) - before;
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThan(12);
    } finally {
      for (const follow of follows) follow.dispose();
      await Promise.all(clients.map((client) => client.dispose()));
    }
  });
});

describe('a failed offer read is told, not dropped', () => {
  it('given a driver following offers, when trip-queries is down as an offer arrives, then the driver gets an error with a code', async () => {
    const here = somewhereNew();
    const driver = await actors.onlineDriver(offset(here, 1), 'Bo');
    const client = subscriptionClient(system.gatewayUrl, driver.token);
    const offers = collect<{ dispatchOffers: { tripId: string } }>(client, OFFERS);
    const passenger = await actors.passenger('Ada');
    try {
      // The subscription is served (its replay of open offers read) before trip-queries goes.
      const first = await actors.requestTrip(passenger.token, here);
      await eventually(async () => offers.results, (r) => r.some((x) => x.data?.dispatchOffers.tripId === first), 60_000);
      expect(offers.results.some((r) => r.data?.dispatchOffers.tripId === first)).toBe(true);
      await system.kill('trip-queries', 'SIGKILL');

      await actors.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', passenger.token, { t: first });
      await offers.settled(60_000);

      expect(offers.errors).toHaveLength(1);
      const [errors] = offers.errors as Array<Array<{ message: string; extensions?: { code?: string } }>>;
      expect(errors?.[0]?.extensions?.code).toEqual(expect.any(String));
    } finally {
      offers.dispose();
      await client.dispose();
      await system.restart('trip-queries');
    }
  });
});
