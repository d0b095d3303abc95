import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchActors, offset, somewhereNew } from '../support/dispatch.ts';
import { eventually } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, subscriptionClient } from '../support/websocket.ts';

/**
 * Two gateway processes behind no balancer: whatever a client does through one, a subscriber on
 * the other hears. Notices are core NATS subjects every gateway subscribes to (no queue group),
 * so each instance serves its own sockets from the same notices.
 */
let system: Awaited<ReturnType<typeof startTestSystem>>;
let first: ReturnType<typeof dispatchActors>;
let second: ReturnType<typeof dispatchActors>;

beforeAll(async () => {
  system = await startTestSystem({ DISPATCH_CHECK_INTERVAL_MS: '3000', DISPATCH_MAX_CHECKS: '5', SAGA_POLL_INTERVAL_MS: '100' }, { replicas: { gateway: 2 } });
  first = dispatchActors(system.gatewayUrl);
  second = dispatchActors(`${system.urls['gateway-2']}/graphql`);
}, 240_000);
afterAll(() => system?.stop());

const OFFERS = 'subscription { dispatchOffers { tripId status passengerName } }';
const FOLLOW = 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id state driverName version } }';

interface Offer {
  tripId: string;
  status: string;
  passengerName: string;
}
interface TripUpdate {
  id: string;
  state: string;
  driverName: string | null;
  version: number;
}

describe('two gateways', () => {
  it('given two gateway processes, then they are two processes on two ports', () => {
    expect(system.urls['gateway-2']).toBeDefined();
    expect(system.urls['gateway-2']).not.toEqual(system.urls.gateway);
    expect(system.pid('gateway-2')).toBeDefined();
    expect(system.pid('gateway-2')).not.toEqual(system.pid('gateway'));
  });

  it('given a driver subscribed on gateway 2, when a trip is requested through gateway 1, then the offer reaches the driver, and a passenger following the trip on each gateway sees the same updates to FINISHED', async () => {
    const here = somewhereNew();
    const driver = await second.onlineDriver(offset(here, 1), 'Bo');
    const driverClient = subscriptionClient(`${system.urls['gateway-2']}/graphql`, driver.token);
    const offers = collect<{ dispatchOffers: Offer }>(driverClient, OFFERS);
    const passenger = await first.passenger('Ada');
    const onFirst = subscriptionClient(system.gatewayUrl, passenger.token);
    const onSecond = subscriptionClient(`${system.urls['gateway-2']}/graphql`, passenger.token);
    try {
      const tripId = await first.requestTrip(passenger.token, here);
      const offered = await eventually(
        async () => offers.results.map((r) => r.data?.dispatchOffers).find((o) => o?.tripId === tripId && o.status === 'OPEN'),
        (offer) => offer !== undefined,
        60_000,
      );
      expect(offered, `offers ${JSON.stringify(offers.results)}, errors ${JSON.stringify(offers.errors)}`).toMatchObject({ tripId, status: 'OPEN', passengerName: 'Ada' });

      await first.waitForState(tripId, ['DISPATCHING']);
      const follows = [collect<{ tripUpdates: TripUpdate }>(onFirst, FOLLOW, { t: tripId }), collect<{ tripUpdates: TripUpdate }>(onSecond, FOLLOW, { t: tripId })];
      await Promise.all(follows.map((follow) => follow.next(1, 30_000)));

      // The driver accepts through gateway 2, starts through gateway 1 and finishes through 2.
      expect((await second.accept(driver.token, tripId, driver.position)).errors).toBeUndefined();
      await eventually(
        async () => offers.results.some((r) => r.data?.dispatchOffers.tripId === tripId && r.data.dispatchOffers.status === 'ASSIGNED'),
        (assigned) => assigned,
        30_000,
      );
      await first.waitForState(tripId, ['DRIVER_ASSIGNED']);
      await first.must('mutation ($t: ID!) { startTrip(input: { tripId: $t }) { id } }', driver.token, { t: tripId });
      await second.must('mutation ($t: ID!) { finishTrip(input: { tripId: $t }) { id } }', driver.token, { t: tripId });

      const finished = (follow: (typeof follows)[number]) => follow.results.at(-1)?.data?.tripUpdates.state === 'FINISHED';
      await eventually(async () => follows.every(finished), (all) => all, 30_000);
      for (const follow of follows) {
        expect(follow.errors).toEqual([]);
        expect(follow.results.at(-1)?.data?.tripUpdates).toMatchObject({ id: tripId, state: 'FINISHED', driverName: 'Bo' });
      }
      // Both saw the trip move forward through the same states (each may coalesce a quick pair).
      const states = follows.map((follow) => follow.results.map((r) => r.data?.tripUpdates.state));
      for (const seen of states) expect(seen).toEqual(expect.arrayContaining(['FINISHED']));
      const versions = follows.map((follow) => follow.results.map((r) => r.data?.tripUpdates.version ?? 0));
      for (const seen of versions) expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(versions[0]?.at(-1)).toEqual(versions[1]?.at(-1));
      for (const follow of follows) follow.dispose();
    } finally {
      offers.dispose();
      await Promise.all([driverClient.dispose(), onFirst.dispose(), onSecond.dispose()]);
    }
  }, 180_000);

  it('given gateway 1 killed, when the passenger follows the trip on gateway 2, then updates still arrive there', async () => {
    const here = somewhereNew();
    await first.onlineDriver(offset(here, 1)); // keeps the trip DISPATCHING, so it can be cancelled
    const passenger = await second.passenger('Eve');
    const tripId = await second.requestTrip(passenger.token, here);
    await second.waitForState(tripId, ['DISPATCHING']);
    await system.kill('gateway', 'SIGKILL');
    const client = subscriptionClient(`${system.urls['gateway-2']}/graphql`, passenger.token);
    const follow = collect<{ tripUpdates: TripUpdate }>(client, FOLLOW, { t: tripId });
    try {
      await follow.next(1, 30_000);
      await second.must('mutation ($t: ID!) { cancelTrip(input: { tripId: $t, reason: "changed my mind" }) { id } }', passenger.token, { t: tripId });
      await eventually(async () => follow.results.at(-1)?.data?.tripUpdates.state, (state) => state === 'CANCELLED', 30_000);
      expect(follow.results.at(-1)?.data?.tripUpdates.state).toBe('CANCELLED');
    } finally {
      follow.dispose();
      await client.dispose();
      await system.restart('gateway');
    }
  }, 180_000);
});
