/**
 * The trip creation saga end to end: every service as a real process (the saga worker too),
 * trips requested and read through the gateway. Pricing and limits are set small by env so the
 * paths sit a few kilometres apart: fare = 10 + 30 × km; at most 5 km; a fare above 100 is
 * charged; the provider declines 120 and more, and every charge of one passenger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { expectMoneyConserved } from '../support/money-conservation.ts';
import { startTestSystem } from '../support/system.ts';
import { cancelTrip, confirmed, CONFIRMED_OR_DISPATCHING, DISPATCH_HELD_OPEN, keepDispatchWaiting, newId, registeredPassenger, requestTrip, settled, tripWhen } from '../support/trips.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
const declinedPassengerId = newId('p-declined');

beforeAll(async () => {
  system = await startTestSystem({
    ...DISPATCH_HELD_OPEN,
    FARE_BASE: '10',
    FARE_PER_KM: '30',
    TRIP_MAX_DISTANCE_KM: '5',
    PAYMENT_REQUIRED_ABOVE: '100',
    PAYMENT_DECLINE_ABOVE: '120',
    PAYMENT_DECLINE_PASSENGERS: declinedPassengerId,
    SAGA_POLL_INTERVAL_MS: '100',
  });
  gql = graphqlClient(system.gatewayUrl);
  await keepDispatchWaiting(system.gatewayUrl);
});
afterAll(async () => {
  await system?.stop();
});

describe('requestTrip through the trip creation saga', () => {
  it('given a fare of at most 100, when the passenger requests the trip, then it ends CONFIRMED with its payment created, not charged', async () => {
    const passenger = await registeredPassenger(gql);
    const { id, fare } = await requestTrip(gql, passenger, 1);
    expect(fare).toBeLessThanOrEqual(100);

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: expect.stringMatching(CONFIRMED_OR_DISPATCHING), paymentStatus: 'CREATED', rejectionReason: null });
  });

  it('given a fare above 100, when the passenger requests the trip, then it is paid and ends CONFIRMED', async () => {
    const passenger = await registeredPassenger(gql);
    const { id, fare } = await requestTrip(gql, passenger, 3.2);
    expect(fare).toBeGreaterThan(100);
    expect(fare).toBeLessThan(120);

    const trip = await tripWhen(gql, passenger.token, id, (t) => settled(t) && t.paymentStatus !== 'CREATED');
    expect(trip).toMatchObject({ state: expect.stringMatching(CONFIRMED_OR_DISPATCHING), paymentStatus: 'PAID', rejectionReason: null });
  });

  it('given a banned passenger, when they request a trip, then it ends REJECTED for the ban, with no payment', async () => {
    const passenger = await registeredPassenger(gql);
    const admin = await tokenFor('admin', 'ops');
    const banned = await gql('mutation ($id: ID!) { banPassenger(input: { passengerId: $id }) { id } }', { token: admin, variables: { id: passenger.id } });
    expect(banned.errors).toBeUndefined();

    const { id } = await requestTrip(gql, passenger, 1);

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'NONE' });
    expect(trip?.rejectionReason).toMatch(/banned/);
  });

  it('given a trip longer than TRIP_MAX_DISTANCE_KM, when requested, then it ends REJECTED as too far, with no payment', async () => {
    const passenger = await registeredPassenger(gql);
    const { id, distanceKm } = await requestTrip(gql, passenger, 8);
    expect(distanceKm).toBeGreaterThan(5);

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'NONE' });
    expect(trip?.rejectionReason).toMatch(/at most 5 km/);
  });

  it('given a fare the provider declines (PAYMENT_DECLINE_ABOVE), when requested, then it ends REJECTED for the decline and the payment is cancelled', async () => {
    const passenger = await registeredPassenger(gql);
    const { id, fare } = await requestTrip(gql, passenger, 4.5);
    expect(fare).toBeGreaterThanOrEqual(120);

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'CANCELLED' });
    expect(trip?.rejectionReason).toMatch(/declined.*card limit/);
  });

  it('given a passenger whose card is declined (PAYMENT_DECLINE_PASSENGERS), when they request a charged trip, then it ends REJECTED for the decline', async () => {
    const passenger = await registeredPassenger(gql, declinedPassengerId);
    const { id } = await requestTrip(gql, passenger, 3.2);

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'CANCELLED' });
    expect(trip?.rejectionReason).toMatch(/card was declined/);
  });
});

describe('cancellation choreography: the payment', () => {
  it('given a confirmed, paid trip, when the passenger cancels it, then the trip is CANCELLED and the payment REFUNDED', async () => {
    const passenger = await registeredPassenger(gql);
    const { id } = await requestTrip(gql, passenger, 3.2);
    await tripWhen(gql, passenger.token, id, (t) => confirmed(t) && t.paymentStatus === 'PAID');

    expect((await cancelTrip(gql, passenger, id, 'Plans changed.')).errors).toBeUndefined();

    const trip = await tripWhen(gql, passenger.token, id, (t) => t.paymentStatus !== 'PAID');
    expect(trip).toMatchObject({ state: 'CANCELLED', paymentStatus: 'REFUNDED', cancellationReason: 'Plans changed.' });
  });

  it('given a confirmed trip that was not charged, when the passenger cancels it, then nothing is refunded', async () => {
    const passenger = await registeredPassenger(gql);
    const { id } = await requestTrip(gql, passenger, 1);
    await tripWhen(gql, passenger.token, id, confirmed);

    expect((await cancelTrip(gql, passenger, id)).errors).toBeUndefined();

    const trip = await tripWhen(gql, passenger.token, id, (t) => t.state === 'CANCELLED');
    expect(trip).toMatchObject({ state: 'CANCELLED', paymentStatus: 'CREATED' });
  });
});

describe('money, at the end of the file', { timeout: 120_000 }, () => {
  it('given every trip above, when the file ends, then for each ended trip the provider kept the fare of a FINISHED one and nothing of any other (ledger against log)', async () => {
    const { ended, charged } = await expectMoneyConserved(system);
    expect(ended).toBeGreaterThan(0);
    expect(charged).toBeGreaterThan(0);
  });
});
