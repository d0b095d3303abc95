import type { EventsByAggregate } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import type { SagaCommand } from '../runtime/commands.ts';
import { commandRejected } from '../runtime/saga.ts';
import { sagaSpecification } from '../runtime/saga-specification.ts';
import { createSettleTripEndSaga, type SettleTripEndInput } from './settle-trip-end-saga.ts';

const saga = createSettleTripEndSaga();
const spec = sagaSpecification(saga);
const sagaId = 'settle-trip-end-t1';

let counter = 0;
function envelope<A extends 'trip' | 'payment'>(aggregateType: A, event: EventsByAggregate[A]): SettleTripEndInput {
  counter++;
  return {
    ...event,
    eventId: `cmd-${counter}:0`,
    aggregateType,
    aggregateId: 't1',
    version: counter,
    occurredAt: '2026-11-23T10:00:00.000Z',
    commandId: `cmd-${counter}`,
    correlationId: 'corr-1',
    causationId: `cmd-${counter}`,
    schemaVersion: 1,
  } as EventEnvelope<A> as SettleTripEndInput;
}

const tripCancelled = envelope('trip', { type: 'TripCancelled', data: { tripId: 't1', reason: 'Changed my mind.', cancelledBy: 'passenger' } });
const tripConfirmed = envelope('trip', { type: 'TripConfirmed', data: { tripId: 't1' } });
const noDriver = envelope('trip', { type: 'TripDispatchFailed', data: { tripId: 't1', reason: 'NO_DRIVERS_AVAILABLE' } });
const noneAccepted = envelope('trip', { type: 'TripDispatchFailed', data: { tripId: 't1', reason: 'NO_DRIVER_ACCEPTED' } });
const tripFinished = envelope('trip', { type: 'TripFinished', data: { tripId: 't1', finishedAt: '2026-11-23T10:30:00.000Z' } });
const paymentPaid = envelope('payment', { type: 'PaymentPaid', data: { paymentId: 't1', tripId: 't1', amount: 12.5, providerReference: 'sim-x' } });
const paymentDeclined = envelope('payment', { type: 'PaymentDeclined', data: { paymentId: 't1', tripId: 't1', reason: 'The card was declined.' } });
const paymentRefunded = envelope('payment', { type: 'PaymentRefunded', data: { paymentId: 't1', tripId: 't1', amount: 130.5, reason: 'x' } });
const refund: SagaCommand = {
  type: 'RefundPaidPayment',
  sagaId,
  commandId: `${sagaId}:refund-paid-payment`,
  tripId: 't1',
  paymentId: 't1',
  reason: 'The trip was cancelled: Changed my mind.',
};
const charge: SagaCommand = { type: 'ChargeFinishedTrip', sagaId, commandId: `${sagaId}:charge-fare`, tripId: 't1', paymentId: 't1' };
const nothingToCharge = commandRejected(charge, 'ILLEGAL_STATE', 'Payment t1 is PAID: nothing to charge.');
const nothingToRefund = commandRejected(refund, 'ILLEGAL_STATE', 'Payment t1 is CREATED: nothing to refund.');

describe('settle trip end saga', () => {
  it('given nothing, when a trip is cancelled, then it starts for the trip, associated with its payment', () => {
    expect(saga.startedBy(tripCancelled)).toEqual({ sagaId, associations: ['payment:t1'] });
    expect(saga.startedBy(tripConfirmed)).toBeNull();
  });

  it('given nothing, when a trip is cancelled, then it asks to refund a paid payment, with an id derived from the trip', () =>
    spec.given([]).when(tripCancelled).thenSends([refund]));

  it.each([
    ['NO_DRIVERS_AVAILABLE', noDriver],
    ['NO_DRIVER_ACCEPTED', noneAccepted],
  ])('given nothing, when dispatch failed with %s, then it starts for the trip and asks to refund a paid payment, under the same id', (reason, failed) => {
    expect(saga.startedBy(failed)).toEqual({ sagaId, associations: ['payment:t1'] });
    spec.given([]).when(failed).thenSends([{ ...refund, reason: `No driver could be found for the trip (${reason}).` }]);
  });

  it('given the refund asked, when the payment is refunded, then the saga ends REFUNDED', () => {
    const { state, ended } = spec.given([tripCancelled]).when(paymentRefunded).thenSendsNothing();
    expect([state, ended]).toEqual([expect.objectContaining({ status: 'ENDED', outcome: 'REFUNDED' }), true]);
  });

  it('given the refund asked, when there is nothing to refund (not paid, or not confirmed yet), then the saga ends with the reason', () => {
    const { state, ended } = spec.given([tripCancelled]).when(nothingToRefund).thenSendsNothing();
    expect([state, ended]).toEqual([expect.objectContaining({ status: 'ENDED', outcome: 'NOTHING_TO_DO', note: nothingToRefund.reason }), true]);
  });

  it('given the refund asked, when the cancellation is redelivered, then nothing is sent again', () =>
    spec.given([tripCancelled]).when(tripCancelled).thenSendsNothing());

  it('given an ended saga, when anything arrives, then it is ignored', () => {
    spec.given([tripCancelled, paymentRefunded]).when(tripCancelled).thenSendsNothing();
    spec.given([tripCancelled, paymentRefunded]).when(nothingToRefund).thenSendsNothing();
  });

  it('given nothing, when an event that does not end the trip arrives, then nothing starts', () =>
    spec.given([]).when(tripConfirmed).thenSendsNothing());

  it('given nothing, when the trip finishes, then it starts for the trip and asks to charge its fare, under an id derived from the trip (the idempotency key)', () => {
    expect(saga.startedBy(tripFinished)).toEqual({ sagaId, associations: ['payment:t1'] });
    spec.given([]).when(tripFinished).thenSends([charge]);
  });

  it.each([
    ['paid', paymentPaid, { outcome: 'CHARGED' }],
    ['declined (the passenger owes the fare)', paymentDeclined, { outcome: 'OWED', note: 'The card was declined.' }],
  ])('given the charge asked, when the payment is %s, then the saga ends with it', (_label, event, outcome) => {
    const { state, ended } = spec.given([tripFinished]).when(event).thenSendsNothing();
    expect([state, ended]).toEqual([expect.objectContaining({ status: 'ENDED', settles: 'CHARGE', ...outcome }), true]);
  });

  it('given the charge asked, when there is nothing to charge (charged at creation), then the saga ends with the reason', () => {
    const { state, ended } = spec.given([tripFinished]).when(nothingToCharge).thenSendsNothing();
    expect([state, ended]).toEqual([expect.objectContaining({ status: 'ENDED', outcome: 'NOTHING_TO_DO', note: nothingToCharge.reason }), true]);
  });

  it('given the charge asked, when a refund or the finish again arrives, then it waits for the charge (a refund ends only a refund)', () => {
    spec.given([tripFinished]).when(paymentRefunded).thenSendsNothing();
    spec.given([tripFinished]).when(tripFinished).thenSendsNothing();
    const { ended } = spec.given([tripCancelled]).when(paymentPaid).thenSendsNothing();
    expect(ended).toBeFalsy();
  });
});
