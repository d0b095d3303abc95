import { fold, paymentDecider, tripDecider, type Position } from '@happyride/domain';
import { bootstrapEventLog, commandHandler, connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { connectMongo, createLogger, type Mongo } from '@happyride/platform';
import type { Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../../../tests/support/eventually.ts';
import type { ChargeRequest, ChargeResult, PaymentProvider } from '../payments/provider.ts';
import { SIMULATED_CHARGES, SIMULATED_REFUNDS, SimulatedPaymentProvider, type SimulatedProviderOptions } from '../payments/simulated-provider.ts';
import { VirtualClock } from '../runtime/clock.ts';
import { deadlineId, MongoSagaStore, type SagaInstanceDocument } from '../runtime/mongo-saga-store.ts';
import { PAYMENT_TIMEOUT, TRIP_CREATION_SAGA, tripCreationSagaId, type TripCreationRun } from './trip-creation-saga.ts';
import { createTripCreationRunner } from './worker.ts';

let nats: Nats;
let events: JetStreamEventStore;
const mongos: Mongo[] = [];
const logger = createLogger('test', process.env.TEST_LOG ?? 'silent');
const config = { maxDistanceKm: 100, paymentRequiredAbove: 100, paymentTimeoutMs: 30_000 };
const start: Position = { lng: 116.3975, lat: 39.9087 };
const end: Position = { lng: 116.5871, lat: 40.0799 };

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'trip-creation-saga-test');
  await bootstrapEventLog(nats.jsm, []);
  events = new JetStreamEventStore(nats.js, nats.jsm);
});
afterAll(async () => {
  for (const mongo of mongos) {
    await mongo.db.dropDatabase().catch(() => {});
    await mongo.close();
  }
  await nats.close();
});

/** Stops every runner a test started. */
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

let db: Db;

/** A saga store in a database of its own; `db` (and so the simulated provider's ledger) is that database. */
async function freshSagaStore(): Promise<MongoSagaStore> {
  const mongo = await connectMongo(inject('mongoUrl'), `test_sagas_${randomUUID().slice(0, 8)}`, 'test');
  mongos.push(mongo);
  db = mongo.db;
  const store = new MongoSagaStore(mongo.db);
  await store.ensureIndexes();
  return store;
}

/** The simulated provider, its ledger in the test's database. */
const simulated = (options: SimulatedProviderOptions = {}) => new SimulatedPaymentProvider(db, options);
/** The provider's ledger for one payment, read from its collections. */
async function ledgerOf(paymentId: string) {
  const charges = await db.collection(SIMULATED_CHARGES).find({ paymentId }).toArray();
  const refunds = await db.collection(SIMULATED_REFUNDS).find({ paymentId }).toArray();
  return { charges: charges.map((charge) => charge['outcome'] as string), refunds: refunds.map((refund) => refund['refundReference'] as string) };
}

/**
 * A fresh durable consumer like `saga-trip-creation`, but filtered to this test's trip: the
 * stream is shared with other test files, whose trips this saga must not touch.
 */
async function freshConsumer(tripId: string): Promise<string> {
  const name = `test-saga-${randomUUID().slice(0, 8)}`;
  const settings = {
    durable_name: name,
    ack_policy: 'explicit',
    deliver_policy: 'all',
    filter_subjects: [`events.trip.${tripId}`, `events.payment.${tripId}`],
    ack_wait: 30_000_000_000,
  };
  await nats.jsm.consumers.add('EVENTS', settings as Parameters<Nats['jsm']['consumers']['add']>[1]);
  return name;
}

function startRunner(runner: Pick<ReturnType<typeof createTripCreationRunner>, 'run'>, consumerName: string) {
  const stop = new AbortController();
  const running = runner.run(nats, { consumerName, signal: stop.signal });
  const halt = async () => {
    stop.abort();
    await running;
  };
  stops.push(halt);
  return halt;
}

const meta = () => ({ commandId: randomUUID(), correlationId: 'corr-test', now: new Date().toISOString() });

/** A registered passenger and a trip just created (what the trip-commands subgraph records). */
async function givenTrip({ fare, distanceKm = 24.965, banned = false }: { fare: number; distanceKm?: number; banned?: boolean }) {
  const suffix = randomUUID().slice(0, 8);
  const passengerId = `p-${suffix}`;
  const tripId = `t-${suffix}`;
  await events.append('passenger', passengerId, [{ type: 'PassengerRegistered', data: { passengerId, name: 'Ada' } }], 0, meta());
  if (banned) await events.append('passenger', passengerId, [{ type: 'PassengerBanned', data: { passengerId } }], 1, meta());
  const requestedAt = new Date().toISOString();
  await events.append('trip', tripId, [{ type: 'TripCreated', data: { tripId, passengerId, start, end, distanceKm, fare, requestedAt } }], 0, meta());
  return { tripId, passengerId, sagaId: tripCreationSagaId(tripId) };
}

const tripOf = async (tripId: string) => fold(tripDecider, (await events.read('trip', tripId)).events);
const paymentHistory = async (paymentId: string) => (await events.read('payment', paymentId)).events.map((event) => event.type);
const paymentOf = async (paymentId: string) => fold(paymentDecider, (await events.read('payment', paymentId)).events);

const until = <T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000) => eventually(probe, ok, { timeoutMs, intervalMs: 25 });

const instanceOf = (sagas: MongoSagaStore, sagaId: string) => sagas.load<TripCreationRun, never>(sagaId) as Promise<SagaInstanceDocument<TripCreationRun> | null>;

describe('trip creation saga on JetStream and the MongoDB-wire server', () => {
  it('given a fare of 72.41, when the saga runs, then the trip is CONFIRMED and the payment created but not charged', async () => {
    const sagas = await freshSagaStore();
    const provider = simulated();
    const { tripId, sagaId } = await givenTrip({ fare: 72.41 });
    const runner = createTripCreationRunner({ config, events, sagas, provider, pollIntervalMs: 50, logger });
    startRunner(runner, await freshConsumer(tripId));

    const instance = await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true);
    expect(instance).toMatchObject({ ended: true, hasPending: false, state: { outcome: 'CONFIRMED', paymentRequired: false } });
    expect((await tripOf(tripId)).status).toBe('CONFIRMED');
    expect(await paymentHistory(tripId)).toEqual(['PaymentCreated']);
    expect(await ledgerOf(tripId)).toEqual({ charges: [], refunds: [] });
  });

  it('given a fare of 130.5, when the saga runs, then the payment is charged once, PAID, and the trip CONFIRMED', async () => {
    const sagas = await freshSagaStore();
    const provider = simulated();
    const { tripId, sagaId } = await givenTrip({ fare: 130.5 });
    const runner = createTripCreationRunner({ config, events, sagas, provider, pollIntervalMs: 50, logger });
    startRunner(runner, await freshConsumer(tripId));

    await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true);
    expect((await tripOf(tripId)).status).toBe('CONFIRMED');
    expect(await paymentHistory(tripId)).toEqual(['PaymentCreated', 'PaymentPaid']);
    expect(await ledgerOf(tripId)).toEqual({ charges: ['PAID'], refunds: [] });
    // The deadline was armed while paying, and cancelled with the result.
    expect(await sagas.deadlines.findOne({ _id: deadlineId(sagaId, PAYMENT_TIMEOUT) })).toBeNull();
  });

  it('given a declining card, when the saga runs, then the trip is REJECTED and the payment declined then cancelled', async () => {
    const sagas = await freshSagaStore();
    const { tripId, sagaId, passengerId } = await givenTrip({ fare: 130.5 });
    const provider = simulated({ declinePassengers: [passengerId] });
    const runner = createTripCreationRunner({ config, events, sagas, provider, pollIntervalMs: 50, logger });
    startRunner(runner, await freshConsumer(tripId));

    const instance = await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true);
    const trip = await tripOf(tripId);
    expect(trip).toMatchObject({ status: 'REJECTED', rejectionReason: 'The payment was declined: The card was declined.' });
    expect(await paymentHistory(tripId)).toEqual(['PaymentCreated', 'PaymentDeclined', 'PaymentCancelled']);
    expect(instance?.state).toMatchObject({ unpaid: true, outcome: 'COMPENSATED' });
  });

  it('given a banned passenger, when the saga runs, then the trip is REJECTED and no payment exists', async () => {
    const sagas = await freshSagaStore();
    const { tripId, sagaId, passengerId } = await givenTrip({ fare: 130.5, banned: true });
    const runner = createTripCreationRunner({ config, events, sagas, provider: simulated(), pollIntervalMs: 50, logger });
    startRunner(runner, await freshConsumer(tripId));

    await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true);
    expect(await tripOf(tripId)).toMatchObject({ status: 'REJECTED', rejectionReason: `Passenger ${passengerId} is banned.` });
    expect(await paymentHistory(tripId)).toEqual([]);
  });

  it('given the passenger cancels while the provider is charging, then the trip stays CANCELLED and the payment is refunded', async () => {
    const sagas = await freshSagaStore();
    const { tripId, sagaId, passengerId } = await givenTrip({ fare: 130.5 });
    let release: () => void = () => {};
    const charging = new Promise<void>((resolve) => (release = resolve));
    let charged = false;
    const inner = simulated();
    const slow: PaymentProvider = {
      async charge(request: ChargeRequest): Promise<ChargeResult> {
        charged = true;
        await charging;
        return inner.charge(request);
      },
      findCharge: (key) => inner.findCharge(key),
      refund: (request) => inner.refund(request),
      listCharges: (from, to) => inner.listCharges(from, to),
    };
    const runner = createTripCreationRunner({ config, events, sagas, provider: slow, pollIntervalMs: 50, logger });
    startRunner(runner, await freshConsumer(tripId));

    await until(async () => charged, (value) => value);
    await commandHandler({ store: events, aggregateType: 'trip', decider: tripDecider })(tripId, {
      type: 'CancelTrip',
      data: { tripId, reason: 'Changed my mind.' },
      metadata: { ...meta(), actor: { id: passengerId, role: 'passenger' } },
    }, { correlationId: 'corr-cancel' });
    release();

    const instance = await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true);
    expect((await tripOf(tripId)).status).toBe('CANCELLED');
    expect(await paymentHistory(tripId)).toEqual(['PaymentCreated', 'PaymentPaid', 'PaymentRefunded']);
    expect(instance?.state.sent).not.toContain('reject-trip');
    // The refund reached the provider, and the log records the provider's id of it.
    const ledger = await ledgerOf(tripId);
    expect(ledger).toEqual({ charges: ['PAID'], refunds: [expect.any(String)] });
    const refunded = (await events.read('payment', tripId)).events.at(-1);
    expect(refunded?.data).toMatchObject({ refundReference: ledger.refunds[0] });
  });

  it('given a PAYMENT_TIMEOUT persisted by one worker, when a new worker starts after it is due, then the new worker fires it and compensates', async () => {
    const sagas = await freshSagaStore();
    const { tripId, sagaId } = await givenTrip({ fare: 130.5 });
    // The provider never answers (it is down): the PayPayment stays in the outbox.
    const unavailable = async (): Promise<never> => {
      throw new Error('payment provider unavailable');
    };
    // Lookups answer (nothing was charged); charges and refunds fail.
    const down: PaymentProvider = { charge: unavailable, findCharge: async () => null, refund: unavailable, listCharges: unavailable };
    const consumerName = await freshConsumer(tripId);
    const clock1 = new VirtualClock(new Date());
    const first = createTripCreationRunner({ config, events, sagas, provider: down, clock: clock1, workerId: 'worker-1', pollIntervalMs: 50, logger });
    const stopFirst = startRunner(first, consumerName);

    const armed = await until(() => sagas.deadlines.findOne({ _id: deadlineId(sagaId, PAYMENT_TIMEOUT) }), (doc) => doc !== null);
    expect(armed?.dueAt.getTime()).toBe(clock1.now().getTime() + 30_000);
    const beforeCrash = await instanceOf(sagas, sagaId);
    expect(beforeCrash?.pending.map((command) => command.type)).toEqual(['PayPayment']);
    await stopFirst(); // the process is gone; the saga's state and deadline are in MongoDB

    const clock2 = new VirtualClock(new Date(clock1.now().getTime() + 31_000));
    const second = createTripCreationRunner({ config, events, sagas, provider: down, clock: clock2, workerId: 'worker-2', pollIntervalMs: 50, logger });
    startRunner(second, consumerName);

    const instance = await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true && doc.hasPending === false);
    expect(await tripOf(tripId)).toMatchObject({ status: 'REJECTED', rejectionReason: 'The payment did not complete within 30 s.' });
    expect(await paymentOf(tripId)).toMatchObject({ status: 'CANCELLED' });
    expect(instance?.state).toMatchObject({ unpaid: true, outcome: 'COMPENSATED' });
    expect(await sagas.deadlines.findOne({ _id: deadlineId(sagaId, PAYMENT_TIMEOUT) })).toMatchObject({ claimedBy: 'worker-2', firedAt: expect.any(Date) });
  });

  it('given a crash after a command was carried out but before the outbox was cleared, when another worker sweeps after the outbox lease, then the command is deduplicated', async () => {
    const sagas = await freshSagaStore();
    const { tripId, sagaId } = await givenTrip({ fare: 72.41 });
    const provider = simulated();
    const runner = createTripCreationRunner({ config, events, sagas, provider, pollIntervalMs: 50, logger });
    startRunner(runner, await freshConsumer(tripId));
    const done = await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true);
    expect(done?.ended).toBe(true);

    // Put ConfirmTrip back in the outbox, as if the worker died right after executing it (`save` marks it `pendingOf`).
    const confirm = { type: 'ConfirmTrip', sagaId, commandId: `${sagaId}:confirm-trip`, tripId, causationId: 'x' };
    await sagas.instances.updateOne({ _id: sagaId }, { $set: { pending: [confirm], hasPending: true, pendingOf: TRIP_CREATION_SAGA }, $inc: { version: 1 } });
    // Another worker leaves a fresh outbox to the worker carrying it out; once its lease ran out (30 s), it takes it over.
    const now = await instanceOf(sagas, sagaId);
    const clock = new VirtualClock(new Date(now!.updatedAt.getTime() + 1_000));
    const other = createTripCreationRunner({ config, events, sagas, provider, clock, logger });
    expect(await other.sweep()).toBe(0);
    clock.advance(30_000);
    expect(await other.sweep()).toBe(1);

    const types = (await events.read('trip', tripId)).events.map((event) => event.type);
    expect(types).toEqual(['TripCreated', 'TripConfirmed']);
    expect(await instanceOf(sagas, sagaId)).toMatchObject({ pending: [], hasPending: false });
  });
});

describe('trip creation saga: a charge whose answer came too late', () => {
  it('given the provider took the money but answers too late, when the payment deadline fires, then the charge is found before cancelling, recorded paid, refunded once and the trip REJECTED', async () => {
    const sagas = await freshSagaStore();
    const { tripId, sagaId, passengerId } = await givenTrip({ fare: 130.5 });
    const provider = simulated({ latePassengers: [passengerId], slowMs: 60_000 });
    const quick = { ...config, paymentTimeoutMs: 1_000 };
    const runner = createTripCreationRunner({ config: quick, events, sagas, provider, pollIntervalMs: 50, chargeTimeoutMs: 200, logger });
    startRunner(runner, await freshConsumer(tripId));

    const instance = await until(() => instanceOf(sagas, sagaId), (doc) => doc?.ended === true && doc.hasPending === false, 30_000);
    expect(instance?.state).toMatchObject({ outcome: 'COMPENSATED', payment: 'REFUNDED' });
    expect(await tripOf(tripId)).toMatchObject({ status: 'REJECTED', rejectionReason: 'The payment did not complete within 1 s.' });
    expect(await paymentHistory(tripId)).toEqual(['PaymentCreated', 'PaymentPaid', 'PaymentRefunded']);
    expect(await ledgerOf(tripId)).toEqual({ charges: ['PAID'], refunds: [expect.any(String)] });
  });
});
