/**
 * The trip creation saga survives kill -9: the saga worker runs as a real child process (as
 * `npm start` runs it) and is killed between every pair of steps, then started again. The
 * worker runs in slow motion (`SAGA_STEP_DELAY_MS`: each command waits a while in the outbox
 * after it is persisted), and the test watches the saga store for the moment step k is
 * persisted and not yet carried out, and kills there. Whatever happens, each saga must end with
 * exactly one payment, at most one charge at the provider, one final trip state.
 * Also: the refund on cancellation survives a kill; a pending payment deadline fires after a restart; a passenger cancelling while the
 * saga pays never ends with a confirmed trip, and what was paid is refunded; a charge whose answer came too late is found and
 * refunded, whatever step the worker is killed at.
 * Every path ends with the provider's ledger (the simulated provider's MongoDB collections, read directly) settled: each charge
 * with a confirmed trip or exactly one refund, and every refund recorded in the log with the provider's refund id.
 */
import { connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { connectMongo, type Mongo } from '@happyride/platform';
import {
  deadlineId,
  MongoSagaStore,
  PAYMENT_TIMEOUT,
  SIMULATED_CHARGES,
  SIMULATED_REFUNDS,
  SimulatedPaymentProvider,
  settleTripEndSagaId,
  tripCreationSagaId,
  type SagaCommand,
  type SagaInstanceDocument,
} from '@happyride/sagas';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, graphqlClient } from '../support/graphql-client.ts';
import { cancelTrip, confirmed, CONFIRMED_OR_DISPATCHING, DISPATCH_HELD_OPEN, keepDispatchWaiting, newId, registeredPassenger, requestTrip, settled, tripWhen } from '../support/trips.ts';
import { expectMoneyConserved } from '../support/money-conservation.ts';
import { startTestSystem } from '../support/system.ts';
import { natsUrl } from '../support/own-event-log.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let mongo: Mongo;
let nats: Nats;
let events: JetStreamEventStore;
let sagas: MongoSagaStore;
const database = `e2e_crash_${randomUUID().slice(0, 8)}`;
const hangingPassengerId = newId('p-hang');
/** Hangs too; the test then has the provider complete the charge after the trip was rejected. */
const strayPassengerId = newId('p-stray');
const slowPassengerId = newId('p-slow');
/** The provider takes their money at once but answers after PAYMENT_SLOW_MS, past the payment deadline. */
const latePassengerIds = [newId('p-late'), newId('p-late')];

beforeAll(async () => {
  system = await startTestSystem({
    ...DISPATCH_HELD_OPEN,
    MONGODB_DATABASE: database,
    FARE_BASE: '10',
    FARE_PER_KM: '30',
    TRIP_MAX_DISTANCE_KM: '5',
    PAYMENT_REQUIRED_ABOVE: '100',
    PAYMENT_DECLINE_ABOVE: '120',
    PAYMENT_HANG_PASSENGERS: `${hangingPassengerId},${strayPassengerId}`,
    PAYMENT_SLOW_PASSENGERS: slowPassengerId,
    PAYMENT_LATE_PASSENGERS: latePassengerIds.join(','),
    PAYMENT_RECONCILE_INTERVAL_MS: '1000',
    PAYMENT_SLOW_MS: '3000',
    PAYMENT_PROVIDER_TIMEOUT_MS: '1000',
    PAYMENT_TIMEOUT_MS: '4000',
    SAGA_STEP_DELAY_MS: '500',
    SAGA_POLL_INTERVAL_MS: '100',
  });
  gql = graphqlClient(system.gatewayUrl);
  await keepDispatchWaiting(system.gatewayUrl);
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-saga-crashes');
  sagas = new MongoSagaStore(mongo.db);
  nats = await connectNats(natsUrl(), 'e2e-saga-crashes');
  events = new JetStreamEventStore(nats.js, nats.jsm);
});
afterAll(async () => {
  await nats?.close();
  await mongo?.close();
  await system?.stop();
});

const instanceOf = (tripId: string) => sagas.load<{ status: string }, SagaCommand>(tripCreationSagaId(tripId));

/** Waits until step `step` of a saga is persisted in its outbox, not yet carried out. */
const stepPersisted = (tripId: string, step: string, sagaId = tripCreationSagaId(tripId)) =>
  eventually(
    () => sagas.load<unknown, SagaCommand>(sagaId),
    (doc) => doc?.pending.some((command) => command.commandId === `${sagaId}:${step}`) === true,
    30_000,
  );

/** Kills the worker with step `step` of `sagaId` persisted and not carried out, then starts it again. */
async function killAndRestartWorker(sagaId: string, step: string) {
  await system.kill('saga-worker', 'SIGKILL');
  const stored = await sagas.load<unknown, SagaCommand>(sagaId);
  expect(stored?.pending.map((command) => command.commandId)).toContain(`${sagaId}:${step}`); // killed inside the window
  await system.restart('saga-worker');
}

const typesIn = async (aggregate: 'trip' | 'payment', id: string) => (await events.read(aggregate, id)).events.map((event) => event.type);
const count = (types: string[], ...wanted: string[]) => types.filter((type) => wanted.includes(type)).length;

/** The invariants after any crash: one payment, at most one charge, one final trip state, the saga over. */
async function expectCleanEnd(tripId: string, expected: { state: string; charged: boolean }) {
  const tripTypes = await typesIn('trip', tripId);
  const paymentTypes = await typesIn('payment', tripId);
  expect(count(tripTypes, 'TripConfirmed', 'TripRejected')).toBe(1);
  expect(tripTypes).toContain(expected.state === 'CONFIRMED' ? 'TripConfirmed' : 'TripRejected');
  expect(count(paymentTypes, 'PaymentCreated')).toBe(1);
  expect(count(paymentTypes, 'PaymentPaid', 'PaymentDeclined')).toBe(1);
  expect(await mongo.db.collection(SIMULATED_CHARGES).countDocuments({ paymentId: tripId })).toBe(expected.charged ? 1 : 0);
  await expectLedgerSettled(tripId);
  // Up to the ack wait (30 s): an event fetched by the killed worker is redelivered only then.
  const saga = (await eventually(() => instanceOf(tripId), (doc) => doc?.ended === true && doc.pending.length === 0, 45_000)) as SagaInstanceDocument | null;
  expect(saga).toMatchObject({ ended: true, pending: [], pendingDeadlines: [] });
}

/**
 * The provider's ledger for one trip, read from the simulated provider's collections: every charge
 * it made ends with the trip confirmed (and not cancelled since) and no refund, or with exactly
 * one refund; every refund is in the payment's log with the provider's refund id.
 */
async function expectLedgerSettled(tripId: string) {
  const paid = await mongo.db.collection(SIMULATED_CHARGES).find({ paymentId: tripId, outcome: 'PAID' }).toArray();
  const refunds = await mongo.db.collection(SIMULATED_REFUNDS).find({ paymentId: tripId }).toArray();
  const tripTypes = await typesIn('trip', tripId);
  const keptByTrip = tripTypes.includes('TripConfirmed') && !tripTypes.includes('TripCancelled');
  for (const charge of paid) {
    const refundsOfCharge = refunds.filter((refund) => refund['chargeReference'] === charge['providerReference']);
    expect(refundsOfCharge.length, `charge ${String(charge['providerReference'])}: ${keptByTrip ? 'kept by a confirmed trip' : 'refunded once'}`).toBe(keptByTrip ? 0 : 1);
  }
  expect(refunds.length).toBe(paid.length - (keptByTrip ? paid.length : 0));
  const recorded = (await events.read('payment', tripId)).events
    .filter((event) => event.type === 'PaymentRefunded' || event.type === 'PaymentLateChargeRefunded')
    .map((event) => (event.data as { refundReference?: string }).refundReference);
  expect(recorded.sort()).toEqual(refunds.map((refund) => refund['refundReference'] as string).sort());
}

describe('trip creation saga, saga worker killed with SIGKILL between steps', { timeout: 120_000 }, () => {
  const paid = ['check-passenger', 'create-payment', 'pay-payment', 'confirm-trip'];
  const declined = ['check-passenger', 'create-payment', 'pay-payment', 'cancel-payment', 'reject-trip'];

  it.each(paid)('given a charged trip, when the worker is killed once "%s" is persisted and restarted, then the trip is CONFIRMED and paid exactly once', async (step) => {
    const passenger = await registeredPassenger(gql);
    const { id, fare } = await requestTrip(gql, passenger, 3.2);
    expect(fare).toBeGreaterThan(100);

    await stepPersisted(id, step);
    await killAndRestartWorker(tripCreationSagaId(id), step);

    const trip = await tripWhen(gql, passenger.token, id, (t) => settled(t) && t.paymentStatus === 'PAID');
    expect(trip).toMatchObject({ state: expect.stringMatching(CONFIRMED_OR_DISPATCHING), paymentStatus: 'PAID' });
    await expectCleanEnd(id, { state: 'CONFIRMED', charged: true });
  });

  it.each(declined)('given a declined charge, when the worker is killed once "%s" is persisted and restarted, then the trip is REJECTED and the payment cancelled', async (step) => {
    const passenger = await registeredPassenger(gql);
    const { id, fare } = await requestTrip(gql, passenger, 4.5);
    expect(fare).toBeGreaterThanOrEqual(120);

    await stepPersisted(id, step);
    await killAndRestartWorker(tripCreationSagaId(id), step);

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'CANCELLED' });
    expect(trip?.rejectionReason).toMatch(/declined/);
    await expectCleanEnd(id, { state: 'REJECTED', charged: true }); // the decline is the provider's one answer
  });
});

describe('refund on cancellation, saga worker killed with SIGKILL', { timeout: 120_000 }, () => {
  it('given a confirmed, paid trip, when the worker is killed once the refund is persisted and restarted, then the payment is refunded exactly once', async () => {
    const passenger = await registeredPassenger(gql);
    const { id } = await requestTrip(gql, passenger, 3.2);
    await tripWhen(gql, passenger.token, id, (t) => confirmed(t) && t.paymentStatus === 'PAID');
    expect((await cancelTrip(gql, passenger, id, 'Plans changed.')).errors).toBeUndefined();

    await stepPersisted(id, 'refund-paid-payment', settleTripEndSagaId(id));
    await killAndRestartWorker(settleTripEndSagaId(id), 'refund-paid-payment');

    const trip = await tripWhen(gql, passenger.token, id, (t) => t.paymentStatus === 'REFUNDED');
    expect(trip).toMatchObject({ state: 'CANCELLED', paymentStatus: 'REFUNDED' });
    expect(count(await typesIn('payment', id), 'PaymentRefunded')).toBe(1);
    await expectLedgerSettled(id);
    // The refund's event may have been fetched by the killed worker: redelivered after the ack wait (30 s).
    const saga = await eventually(() => sagas.load(settleTripEndSagaId(id)), (doc) => doc?.ended === true, 45_000);
    expect(saga).toMatchObject({ ended: true, pending: [], state: { outcome: 'REFUNDED' } });
  });
});

describe('deadlines and isolation with the real saga worker', { timeout: 120_000 }, () => {
  it('given a provider that never answers, when the worker is killed with the payment deadline pending and restarted, then the deadline fires and the trip is REJECTED for the timeout', async () => {
    const passenger = await registeredPassenger(gql, hangingPassengerId);
    const { id } = await requestTrip(gql, passenger, 3.2);
    const deadlines = mongo.db.collection<{ _id: string; firedAt?: Date }>('saga_deadlines');
    const armed = await eventually(() => deadlines.findOne({ _id: deadlineId(tripCreationSagaId(id), PAYMENT_TIMEOUT) }), (doc) => doc !== null, 30_000);
    expect(armed?.firedAt).toBeUndefined();

    await system.kill('saga-worker', 'SIGKILL');
    expect((await deadlines.findOne({ _id: armed!._id }))?.firedAt).toBeUndefined(); // still pending while no worker lives
    await system.restart('saga-worker');

    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'CANCELLED' });
    expect(trip?.rejectionReason).toMatch(/did not complete within 4 s/);
    expect((await deadlines.findOne({ _id: armed!._id }))?.firedAt).toBeInstanceOf(Date);
    expect(count(await typesIn('payment', id), 'PaymentPaid')).toBe(0);
    expect(await mongo.db.collection(SIMULATED_CHARGES).countDocuments({ paymentId: id })).toBe(0);
    await expectLedgerSettled(id);
  });

  it('given the provider is charging, when the passenger cancels the trip, then it never ends confirmed and the amount paid is refunded', async () => {
    const passenger = await registeredPassenger(gql, slowPassengerId);
    const { id, fare } = await requestTrip(gql, passenger, 3.2);
    await stepPersisted(id, 'pay-payment');

    const cancelled = await cancelTrip(gql, passenger, id, 'Found another ride.');
    expect(cancelled.errors).toBeUndefined();

    const trip = await tripWhen(gql, passenger.token, id, (t) => t.state === 'CANCELLED' && t.paymentStatus === 'REFUNDED');
    expect(trip).toMatchObject({ state: 'CANCELLED', paymentStatus: 'REFUNDED' });
    const tripTypes = await typesIn('trip', id);
    expect(count(tripTypes, 'TripConfirmed', 'TripDispatchStarted', 'TripDriverAssigned')).toBe(0);
    const payment = (await events.read('payment', id)).events;
    expect(payment.map((event) => event.type)).toEqual(['PaymentCreated', 'PaymentPaid', 'PaymentRefunded']);
    expect(payment[2]?.data).toMatchObject({ amount: fare });
    await expectLedgerSettled(id);
    // The trip was never confirmed: the creation saga refunded; the settle-trip-end saga left it to it.
    const refundSaga = await eventually(() => sagas.load(settleTripEndSagaId(id)), (doc) => doc?.ended === true);
    expect(refundSaga?.state).toMatchObject({ outcome: 'NOTHING_TO_DO', settles: 'REFUND', note: expect.stringMatching(/before it was confirmed/) });
  });
});

describe('a charge whose answer came too late, saga worker killed with SIGKILL', { timeout: 120_000 }, () => {
  it.each([
    ['cancel-payment', 0],
    ['refund-payment', 1],
  ] as const)('given the provider took the money but answered after the deadline, when the worker is killed once "%s" is persisted and restarted, then the charge is found, refunded once, and the trip REJECTED', async (step, passengerIndex) => {
    const passenger = await registeredPassenger(gql, latePassengerIds[passengerIndex]);
    const { id, fare } = await requestTrip(gql, passenger, 3.2);
    expect(fare).toBeGreaterThan(100);
    expect(fare).toBeLessThan(120);

    await stepPersisted(id, step);
    await killAndRestartWorker(tripCreationSagaId(id), step);

    const trip = await tripWhen(gql, passenger.token, id, (t) => t.state === 'REJECTED' && t.paymentStatus === 'REFUNDED', 60_000);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'REFUNDED' });
    expect(trip?.rejectionReason).toMatch(/did not complete within 4 s/);
    expect(await typesIn('payment', id)).toEqual(['PaymentCreated', 'PaymentPaid', 'PaymentRefunded']);
    expect(await mongo.db.collection(SIMULATED_CHARGES).countDocuments({ paymentId: id })).toBe(1);
    await expectLedgerSettled(id);
  });
});

describe('the payment reconciliation in the real saga worker', { timeout: 120_000 }, () => {
  it('given a trip rejected for a charge that never answered, when the provider completes that charge afterwards and the worker is killed and restarted, then the reconciliation refunds it once and the log records it', async () => {
    const passenger = await registeredPassenger(gql, strayPassengerId);
    const { id, fare } = await requestTrip(gql, passenger, 3.2);
    const trip = await tripWhen(gql, passenger.token, id, settled);
    expect(trip).toMatchObject({ state: 'REJECTED', paymentStatus: 'CANCELLED' });
    // The creation saga is over, its PayPayment answered "not charged": nobody will ask for this charge again.
    await eventually(() => instanceOf(id), (doc) => doc?.ended === true && doc.pending.length === 0, 45_000);

    // The hung charge completes at the provider after all (its own code, writing its own ledger).
    const late = await new SimulatedPaymentProvider(mongo.db).charge({ idempotencyKey: `${tripCreationSagaId(id)}:pay-payment`, paymentId: id, passengerId: strayPassengerId, amount: fare, currency: 'eur' });
    expect(late).toMatchObject({ outcome: 'PAID' });
    await system.kill('saga-worker', 'SIGKILL');
    await system.restart('saga-worker');

    const refunded = await eventually(() => typesIn('payment', id), (types) => types.includes('PaymentLateChargeRefunded'), 60_000);
    expect(refunded).toEqual(['PaymentCreated', 'PaymentCancelled', 'PaymentLateChargeRefunded']);
    expect(await tripWhen(gql, passenger.token, id, settled)).toMatchObject({ state: 'REJECTED', paymentStatus: 'CANCELLED' });
    await expectLedgerSettled(id);
  });
});

describe('money, at the end of the file', { timeout: 120_000 }, () => {
  it('given every trip above, when the file ends, then for each ended trip the provider kept the fare of a FINISHED one and nothing of any other (ledger against log)', async () => {
    const { ended, charged } = await expectMoneyConserved(system);
    expect(ended).toBeGreaterThan(0);
    expect(charged).toBeGreaterThan(0);
  });
});
