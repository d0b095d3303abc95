/**
 * Money is exact, against the real event log (JetStream) and the simulated provider's ledger in
 * the MongoDB-wire server: a refund reaches the provider and records its id, also when the
 * worker died between the two; a charge that landed after its payment was cancelled is refunded
 * and recorded, by the retried PayPayment or by the periodic reconciliation, exactly once.
 */
import { fold, paymentDecider, type PaymentEvent } from '@happyride/domain';
import { bootstrapEventLog, connectNats, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { connectMongo, createLogger, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SagaCommand } from '../runtime/commands.ts';
import { createOutputHandler } from '../runtime/output-handler.ts';
import type { PendingCommand } from '../runtime/mongo-saga-store.ts';
import { refundKeyOf } from './provider.ts';
import { PaymentReconciler } from './reconciliation.ts';
import { SIMULATED_CHARGES, SIMULATED_REFUNDS, SimulatedPaymentProvider } from './simulated-provider.ts';

let nats: Nats;
let events: JetStreamEventStore;
let mongo: Mongo;
let provider: SimulatedPaymentProvider;
const logger = createLogger('test', process.env.TEST_LOG ?? 'silent');

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'payments-test');
  await bootstrapEventLog(nats.jsm, []);
  events = new JetStreamEventStore(nats.js, nats.jsm);
  mongo = await connectMongo(inject('mongoUrl'), `test_payments_${randomUUID().slice(0, 8)}`, 'test');
  provider = new SimulatedPaymentProvider(mongo.db);
  await provider.ensureIndexes();
});
afterAll(async () => {
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
  await nats.close();
});

const meta = () => ({ commandId: randomUUID(), correlationId: 'corr-test', now: new Date().toISOString() });
const handler = () => createOutputHandler({ store: events, provider, logger });
const pending = <C extends SagaCommand>(command: C): PendingCommand<C> => ({ ...command, causationId: 'test' }) as PendingCommand<C>;

/** A payment whose log holds `then` after its creation (each a PaymentEvent without ids). */
async function givenPayment(...then: Array<(paymentId: string) => PaymentEvent>) {
  const paymentId = `t-${randomUUID().slice(0, 8)}`;
  const created: PaymentEvent = { type: 'PaymentCreated', data: { paymentId, tripId: paymentId, passengerId: 'p1', amount: 130.5 } };
  await events.append('payment', paymentId, [created, ...then.map((event) => event(paymentId))], 0, meta());
  return paymentId;
}
const cancelled = (paymentId: string): PaymentEvent => ({ type: 'PaymentCancelled', data: { paymentId, tripId: paymentId, reason: 'The payment did not complete within 30 s.' } });

const paymentEvents = async (paymentId: string) => (await events.read('payment', paymentId)).events;
async function ledgerOf(paymentId: string) {
  const charges = await mongo.db.collection(SIMULATED_CHARGES).countDocuments({ paymentId });
  const refunds = await mongo.db.collection(SIMULATED_REFUNDS).find({ paymentId }).toArray();
  return { charges, refunds: refunds.map((refund) => refund['refundReference'] as string) };
}
/** What the provider took for a payment under a key (as a PayPayment would). */
async function chargedAtProvider(paymentId: string, idempotencyKey = `${paymentId}:pay-payment`) {
  const answer = await provider.charge({ idempotencyKey, paymentId, passengerId: 'p1', amount: 130.5, currency: 'eur' });
  if (answer.outcome !== 'PAID') throw new Error('expected a paid charge');
  return answer.providerReference;
}

describe('refunds reach the provider', () => {
  it('given a paid payment, when the saga refunds it, then the provider refunds once and the log records its refund id', async () => {
    const paymentId = await givenPayment();
    const chargeReference = await chargedAtProvider(paymentId);
    await events.append('payment', paymentId, [{ type: 'PaymentPaid', data: { paymentId, tripId: paymentId, amount: 130.5, providerReference: chargeReference } }], 1, meta());

    const refund: SagaCommand = { type: 'RefundPayment', sagaId: 's', commandId: `s:refund-${paymentId}`, paymentId, reason: 'The trip was cancelled.' };
    expect(await handler()(pending(refund), { correlationId: 'c' })).toBeNull();

    const ledger = await ledgerOf(paymentId);
    expect(ledger).toEqual({ charges: 1, refunds: [expect.any(String)] });
    expect((await paymentEvents(paymentId)).at(-1)).toMatchObject({ type: 'PaymentRefunded', data: { refundReference: ledger.refunds[0], amount: 130.5 } });
  });

  it('given the worker died after the provider refunded and before the log recorded it, when the command is carried out again, then the same refund is recorded once', async () => {
    const paymentId = await givenPayment();
    const chargeReference = await chargedAtProvider(paymentId);
    await events.append('payment', paymentId, [{ type: 'PaymentPaid', data: { paymentId, tripId: paymentId, amount: 130.5, providerReference: chargeReference } }], 1, meta());
    // The first attempt got as far as the provider (same key: derived from the charge).
    const first = await provider.refund({ idempotencyKey: refundKeyOf(chargeReference), chargeReference, amount: 130.5 });

    const refund: SagaCommand = { type: 'RefundPaidPayment', sagaId: 's', commandId: `s:refund-paid-${paymentId}`, tripId: paymentId, paymentId, reason: 'Cancelled.' };
    // The trip was confirmed, then cancelled: the settle-trip-end saga refunds (`settleOnTripEnd`).
    const tripId = paymentId;
    const created = { tripId, passengerId: 'p1', start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.35, lat: 48.9 }, distanceKm: 5.56, fare: 130.5, requestedAt: '2026-11-23T10:00:00.000Z' };
    await events.append('trip', tripId, [{ type: 'TripCreated', data: created }, { type: 'TripConfirmed', data: { tripId } }, { type: 'TripCancelled', data: { tripId, reason: 'Cancelled.', cancelledBy: 'passenger' } }], 0, meta());
    expect(await handler()(pending(refund), { correlationId: 'c' })).toBeNull();
    expect(await handler()(pending(refund), { correlationId: 'c' })).toBeNull(); // and once more: answered from the log

    expect(await ledgerOf(paymentId)).toEqual({ charges: 1, refunds: [first.refundReference] });
    const refunds = (await paymentEvents(paymentId)).filter((event) => event.type === 'PaymentRefunded');
    expect(refunds.map((event) => event.data)).toEqual([expect.objectContaining({ refundReference: first.refundReference })]);
  });
});

describe('a charge that landed after its payment was cancelled', () => {
  it('given a cancelled payment whose charge the provider made after all, when the PayPayment is retried, then the charge is refunded and recorded, once however often it is retried', async () => {
    const paymentId = await givenPayment(cancelled);
    const chargeReference = await chargedAtProvider(paymentId);
    const pay: SagaCommand = { type: 'PayPayment', sagaId: 's', commandId: `${paymentId}:pay-payment`, paymentId, passengerId: 'p1', amount: 130.5 };

    const outcome = await handler()(pending(pay), { correlationId: 'c' });
    await handler()(pending(pay), { correlationId: 'c' });

    expect(outcome).toMatchObject({ type: 'CommandRejected', reason: expect.stringMatching(/late charge .* was refunded/) });
    const ledger = await ledgerOf(paymentId);
    expect(ledger).toEqual({ charges: 1, refunds: [expect.any(String)] });
    const late = (await paymentEvents(paymentId)).filter((event) => event.type === 'PaymentLateChargeRefunded');
    expect(late.map((event) => event.data)).toEqual([expect.objectContaining({ chargeReference, refundReference: ledger.refunds[0], amount: 130.5 })]);
    expect(fold(paymentDecider, await paymentEvents(paymentId))).toMatchObject({ status: 'CANCELLED' });
  });

  it('given a cancelled payment and no charge at the provider, when the PayPayment is retried, then it answers "not charged" and nothing moves', async () => {
    const paymentId = await givenPayment(cancelled);
    const pay: SagaCommand = { type: 'PayPayment', sagaId: 's', commandId: `${paymentId}:pay-payment`, paymentId, passengerId: 'p1', amount: 130.5 };

    expect(await handler()(pending(pay), { correlationId: 'c' })).toMatchObject({ type: 'CommandRejected', reason: expect.stringMatching(/not charged/) });
    expect(await ledgerOf(paymentId)).toEqual({ charges: 0, refunds: [] });
  });
});

describe('the periodic reconciliation', () => {
  it('given charges of a cancelled payment (stray), a payment awaiting its result and a recorded one, when a pass runs, then only the stray one is refunded and recorded, the cursor waits at the pending one, and a second pass moves nothing', async () => {
    // A database of its own: the cursor and the ledger hold only this test's charges.
    const own = await connectMongo(inject('mongoUrl'), `test_reconcile_${randomUUID().slice(0, 8)}`, 'test');
    try {
      const ledger = new SimulatedPaymentProvider(own.db);
      await ledger.ensureIndexes();
      const charge = async (paymentId: string) => {
        const answer = await ledger.charge({ idempotencyKey: `${paymentId}:pay-payment`, paymentId, passengerId: 'p1', amount: 130.5, currency: 'eur' });
        return answer.outcome === 'PAID' ? answer.providerReference : '';
      };
      const stray = await givenPayment(cancelled);
      const strayCharge = await charge(stray);
      const awaiting = await givenPayment();
      const awaitingCharge = await charge(awaiting);
      const recorded = await givenPayment();
      const recordedCharge = await charge(recorded);
      await events.append('payment', recorded, [{ type: 'PaymentPaid', data: { paymentId: recorded, tripId: recorded, amount: 130.5, providerReference: recordedCharge } }], 1, meta());
      const reconciler = new PaymentReconciler({ db: own.db, store: events, provider: ledger, logger, lagMs: 0, firstLookBackMs: 60_000 });

      const first = await reconciler.reconcileOnce();
      const second = await reconciler.reconcileOnce();

      expect(first).toMatchObject({ checked: 3, refunded: 1, pending: 1, unknown: 0 });
      const awaitingAt = (await own.db.collection(SIMULATED_CHARGES).findOne({ providerReference: awaitingCharge }))?.['at'] as Date;
      expect(first.cursor).toEqual(awaitingAt);
      expect(second).toMatchObject({ refunded: 0, pending: 1 });
      const refunds = await own.db.collection(SIMULATED_REFUNDS).find().toArray();
      expect(refunds.map((refund) => refund['chargeReference'])).toEqual([strayCharge]);
      const late = (await paymentEvents(stray)).filter((event) => event.type === 'PaymentLateChargeRefunded');
      expect(late.map((event) => event.data)).toEqual([expect.objectContaining({ chargeReference: strayCharge, refundReference: refunds[0]?.['refundReference'] })]);
      expect((await paymentEvents(awaiting)).map((event) => event.type)).toEqual(['PaymentCreated']);
    } finally {
      await own.db.dropDatabase().catch(() => {});
      await own.close();
    }
  });
});
