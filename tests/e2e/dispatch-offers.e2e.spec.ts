import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchActors, offset, somewhereNew } from '../support/dispatch.ts';
import { eventually } from '../support/graphql-client.ts';
import { expectMoneyConserved } from '../support/money-conservation.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, subscriptionClient } from '../support/websocket.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let actors: ReturnType<typeof dispatchActors>;

beforeAll(async () => {
  system = await startTestSystem({ DISPATCH_CHECK_INTERVAL_MS: '3000', DISPATCH_MAX_CHECKS: '3', SAGA_POLL_INTERVAL_MS: '100' });
  actors = dispatchActors(system.gatewayUrl);
}, 120_000);
afterAll(() => system?.stop());

interface Offer {
  tripId: string;
  status: string;
  start: { lng: number; lat: number };
  end: { lng: number; lat: number };
  fare: number;
  passengerName: string;
  distanceKm: number;
  expiresAt: string;
  passenger: { name: string } | null;
}
const OFFERS = 'subscription { dispatchOffers { tripId status start { lng lat } end { lng lat } fare passengerName distanceKm expiresAt passenger { name } } }';
const FOLLOW = 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id state driverName passengerName } }';

/** A driver's live offers over their own socket. */
function offersOf(token: string) {
  const client = subscriptionClient(system.gatewayUrl, token);
  const feed = collect<{ dispatchOffers: Offer }>(client, OFFERS);
  const of = (tripId: string) => feed.results.map((r) => r.data?.dispatchOffers).filter((o): o is Offer => o?.tripId === tripId);
  return {
    feed,
    of,
    /** Waits until an offer of `tripId` in `status` arrived. */
    async until(tripId: string, status: string, timeoutMs = 60_000) {
      await eventually(async () => of(tripId), (offers) => offers.some((o) => o.status === status), timeoutMs);
      const offer = of(tripId).find((o) => o.status === status);
      if (!offer) throw new Error(`no ${status} offer of ${tripId}; got ${JSON.stringify(of(tripId))}, errors ${JSON.stringify(feed.errors)}`);
      return offer;
    },
    async close() {
      feed.dispose();
      await client.dispose();
    },
  };
}

describe('dispatch offers over graphql-ws through the gateway', () => {
  it('given drivers near and far, when a trip is confirmed, then only the near ones get the offer, the nearest accepting one is assigned, the other is told, and the trip is followed to FINISHED', async () => {
    const here = somewhereNew();
    const nearest = await actors.onlineDriver(offset(here, 1), 'Bo');
    const second = await actors.onlineDriver(offset(here, 3), 'Cai');
    const far = await actors.onlineDriver(offset(here, 25), 'Dan');
    const feeds = { nearest: offersOf(nearest.token), second: offersOf(second.token), far: offersOf(far.token) };
    const passenger = await actors.passenger('Ada');
    try {
      const tripId = await actors.requestTrip(passenger.token, here);
      await actors.waitForState(tripId, ['CREATED', 'CONFIRMED', 'DISPATCHING']); // projected: it can be followed
      const follow = collect<{ tripUpdates: { state: string; driverName: string | null; passengerName: string } }>(
        subscriptionClient(system.gatewayUrl, passenger.token),
        FOLLOW,
        { t: tripId },
      );

      const offered = await feeds.nearest.until(tripId, 'OPEN');
      expect(offered).toMatchObject({ tripId, passengerName: 'Ada', passenger: { name: 'Ada' }, start: here });
      expect(offered.fare).toBeGreaterThan(0);
      expect(offered.distanceKm).toBeCloseTo(2, 1);
      expect(Date.parse(offered.expiresAt)).toBeGreaterThan(0);
      await feeds.second.until(tripId, 'OPEN');

      // The second driver accepts first, the nearest one after: the nearest still wins.
      expect((await actors.accept(second.token, tripId, second.position)).errors).toBeUndefined();
      expect((await actors.accept(nearest.token, tripId, nearest.position)).errors).toBeUndefined();
      await feeds.nearest.until(tripId, 'ASSIGNED');
      await feeds.second.until(tripId, 'TAKEN');
      const assigned = await actors.waitForState(tripId, ['DRIVER_ASSIGNED']);
      expect(assigned).toMatchObject({ driverId: nearest.id });
      expect(feeds.far.of(tripId)).toEqual([]);

      const drive = (mutation: string) => actors.must(`mutation ($t: ID!) { ${mutation}(input: { tripId: $t }) { id } }`, nearest.token, { t: tripId });
      await drive('startTrip');
      await drive('finishTrip');
      await eventually(async () => follow.results.at(-1)?.data?.tripUpdates.state, (state) => state === 'FINISHED', 30_000);
      const states = follow.results.map((r) => r.data?.tripUpdates.state);
      expect(states).toContain('FINISHED');
      expect(follow.results.at(-1)?.data?.tripUpdates).toMatchObject({ state: 'FINISHED', driverName: 'Bo', passengerName: 'Ada' });
      follow.dispose();
      expect(feeds.far.of(tripId)).toEqual([]);
    } finally {
      await Promise.all(Object.values(feeds).map((f) => f.close()));
    }
  }, 180_000);

  it("given a driver's offer, then another driver never sees it, by subscription or query, and a passenger may not subscribe", async () => {
    const here = somewhereNew();
    const offeredDriver = await actors.onlineDriver(offset(here, 1));
    const stranger = await actors.onlineDriver(offset(here, 40));
    const strangerFeed = offersOf(stranger.token);
    const passenger = await actors.passenger();
    const passengerFeed = collect(subscriptionClient(system.gatewayUrl, passenger.token), OFFERS);
    try {
      const tripId = await actors.requestTrip(passenger.token, here);
      await actors.waitForState(tripId, ['DISPATCHING']);
      const theirs = await eventually(
        () => actors.gql<{ dispatchOffer: Offer | null }>('query ($t: ID!) { dispatchOffer(tripId: $t) { tripId } }', { token: offeredDriver.token, variables: { t: tripId } }),
        (r) => r.data?.dispatchOffer != null,
      );
      expect(theirs.data?.dispatchOffer).toEqual({ tripId });
      const mine = await actors.gql<{ dispatchOffer: Offer | null }>('query ($t: ID!) { dispatchOffer(tripId: $t) { tripId } }', { token: stranger.token, variables: { t: tripId } });
      expect(mine.data?.dispatchOffer).toBeNull();
      expect(strangerFeed.of(tripId)).toEqual([]);
      await passengerFeed.settled();
      expect(JSON.stringify(passengerFeed.errors)).toMatch(/FORBIDDEN|for drivers/);
    } finally {
      passengerFeed.dispose();
      await strangerFeed.close();
    }
  }, 120_000);

  it('given an offer made while the driver was not connected, when they subscribe, then the open offer comes first', async () => {
    const here = somewhereNew();
    const driver = await actors.onlineDriver(offset(here, 1));
    const passenger = await actors.passenger('Eve');
    const tripId = await actors.requestTrip(passenger.token, here);
    await actors.waitForState(tripId, ['DISPATCHING']);
    await eventually(
      () => actors.gql<{ dispatchOffer: Offer | null }>('query ($t: ID!) { dispatchOffer(tripId: $t) { tripId } }', { token: driver.token, variables: { t: tripId } }),
      (r) => r.data?.dispatchOffer != null,
    );
    const feed = offersOf(driver.token);
    try {
      expect(await feed.until(tripId, 'OPEN')).toMatchObject({ tripId, passengerName: 'Eve' });
    } finally {
      await feed.close();
    }
  }, 120_000);

  it('given an open dispatch, when the passenger cancels, then the offer closes as CANCELLED; given an assigned driver, when an admin cancels, then the driver is free for the next trip', async () => {
    const here = somewhereNew();
    const driver = await actors.onlineDriver(offset(here, 1));
    const feed = offersOf(driver.token);
    try {
      const first = await actors.passenger();
      const openTrip = await actors.requestTrip(first.token, here);
      await feed.until(openTrip, 'OPEN');
      await actors.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "found a bus" }) { id } }', first.token, { t: openTrip });
      await feed.until(openTrip, 'CANCELLED');

      const second = await actors.passenger();
      const takenTrip = await actors.requestTrip(second.token, here);
      await feed.until(takenTrip, 'OPEN');
      await actors.must('mutation ($t: ID!, $p: PositionInput!) { acceptTrip(input: { tripId: $t, position: $p }) { id } }', driver.token, { t: takenTrip, p: driver.position });
      await feed.until(takenTrip, 'ASSIGNED');
      await actors.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "operator" }) { id } }', await actors.adminToken, { t: takenTrip });
      await actors.waitForState(takenTrip, ['CANCELLED']);

      const third = await actors.passenger();
      const nextTrip = await actors.requestTrip(third.token, here);
      await feed.until(nextTrip, 'OPEN');
      await actors.must('mutation ($t: ID!, $p: PositionInput!) { acceptTrip(input: { tripId: $t, position: $p }) { id } }', driver.token, { t: nextTrip, p: driver.position });
      expect(await actors.waitForState(nextTrip, ['DRIVER_ASSIGNED'])).toMatchObject({ driverId: driver.id });
    } finally {
      await feed.close();
    }
  }, 180_000);
});

describe('money, at the end of the file', { timeout: 120_000 }, () => {
  it('given every trip above (2 km: fares at or below PAYMENT_REQUIRED_ABOVE, charged only when they finish), when the file ends, then the provider holds the fare of each FINISHED trip and nothing of any other', async () => {
    const { ended, charged, finished } = await expectMoneyConserved(system);
    expect(ended).toBeGreaterThan(0);
    expect(finished).toBeGreaterThan(0);
    expect(charged).toBe(finished);
  });
});
