import type { EventsByAggregate } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { passengerChecked, type SagaCommand } from '../runtime/commands.ts';
import { commandRejected, deadlineReached } from '../runtime/saga.ts';
import { sagaSpecification } from '../runtime/saga-specification.ts';
import {
  createTripCreationSaga,
  PAYMENT_TIMEOUT,
  type TripCreationInput,
  type TripCreationRun,
  type TripCreationState,
} from './trip-creation-saga.ts';

const saga = createTripCreationSaga({ maxDistanceKm: 50, paymentRequiredAbove: 100, paymentTimeoutMs: 30_000 });
const spec = sagaSpecification(saga);
const sagaId = 'trip-creation-t1';
const now = '2026-11-23T10:00:00.000Z';

// ---- inputs ---------------------------------------------------------------------------------
let eventCounter = 0;
function envelope<A extends 'trip' | 'payment'>(aggregateType: A, event: EventsByAggregate[A]): TripCreationInput {
  eventCounter++;
  return {
    ...event,
    eventId: `cmd-${eventCounter}:0`,
    aggregateType,
    aggregateId: 't1',
    version: eventCounter,
    occurredAt: now,
    commandId: `cmd-${eventCounter}`,
    correlationId: 'corr-1',
    causationId: `cmd-${eventCounter}`,
    schemaVersion: 1,
  } as EventEnvelope<A> as TripCreationInput;
}
const start = { lng: 116.3975, lat: 39.9087 };
const end = { lng: 116.5871, lat: 40.0799 };
const tripCreated = (fare: number, distanceKm = 24.965) =>
  envelope('trip', { type: 'TripCreated', data: { tripId: 't1', passengerId: 'p1', start, end, distanceKm, fare, requestedAt: now } });
const cheap = tripCreated(72.41);
const dear = tripCreated(130.5, 48.2);
const tripConfirmed = envelope('trip', { type: 'TripConfirmed', data: { tripId: 't1' } });
const tripRejected = envelope('trip', { type: 'TripRejected', data: { tripId: 't1', reason: 'whatever the saga said' } });
const tripCancelled = envelope('trip', { type: 'TripCancelled', data: { tripId: 't1', reason: 'Changed my mind.', cancelledBy: 'passenger' } });
const paymentCreated = (amount: number) => envelope('payment', { type: 'PaymentCreated', data: { paymentId: 't1', tripId: 't1', passengerId: 'p1', amount } });
const paymentPaid = envelope('payment', { type: 'PaymentPaid', data: { paymentId: 't1', tripId: 't1', amount: 130.5, providerReference: 'sim-1' } });
const paymentDeclined = envelope('payment', { type: 'PaymentDeclined', data: { paymentId: 't1', tripId: 't1', reason: 'Card declined.' } });
const paymentCancelled = envelope('payment', { type: 'PaymentCancelled', data: { paymentId: 't1', tripId: 't1', reason: 'x' } });
const paymentRefunded = envelope('payment', { type: 'PaymentRefunded', data: { paymentId: 't1', tripId: 't1', amount: 130.5, reason: 'x' } });

// ---- the commands the saga sends --------------------------------------------------------------
const checkPassenger: SagaCommand = { type: 'CheckPassenger', sagaId, commandId: `${sagaId}:check-passenger`, passengerId: 'p1' };
const checked = (banned: boolean, registered = true) => passengerChecked(checkPassenger as Extract<SagaCommand, { type: 'CheckPassenger' }>, registered, banned);
const createPayment = (amount: number): SagaCommand => ({
  type: 'CreatePayment',
  sagaId,
  commandId: `${sagaId}:create-payment`,
  paymentId: 't1',
  tripId: 't1',
  passengerId: 'p1',
  amount,
});
const payPayment: SagaCommand = { type: 'PayPayment', sagaId, commandId: `${sagaId}:pay-payment`, paymentId: 't1', passengerId: 'p1', amount: 130.5 };
const confirmTrip: SagaCommand = { type: 'ConfirmTrip', sagaId, commandId: `${sagaId}:confirm-trip`, tripId: 't1' };
const rejectTrip = (reason: string): SagaCommand => ({ type: 'RejectTrip', sagaId, commandId: `${sagaId}:reject-trip`, tripId: 't1', reason });
const cancelPayment = (reason: string, chargeKey?: string): SagaCommand => ({
  type: 'CancelPayment',
  sagaId,
  commandId: `${sagaId}:cancel-payment`,
  paymentId: 't1',
  reason,
  ...(chargeKey === undefined ? {} : { chargeKey }),
});
/** The PayPayment's id, the charge's idempotency key: a CancelPayment after a charge was tried carries it. */
const chargeKey = `${sagaId}:pay-payment`;
const refundPayment = (reason: string): SagaCommand => ({ type: 'RefundPayment', sagaId, commandId: `${sagaId}:refund-payment`, paymentId: 't1', reason });
const timeout = deadlineReached(sagaId, PAYMENT_TIMEOUT, '2026-11-23T10:00:30.000Z');

/** Every input decided in turn: all commands sent, every decision, the final state. */
function play(inputs: readonly TripCreationInput[]) {
  let state: TripCreationState = saga.initialState();
  const decisions = inputs.map((input) => {
    const decision = saga.decide(input, state);
    state = decision.state;
    return decision;
  });
  return { state, decisions, commands: decisions.flatMap((decision) => decision.commands) };
}
const run = (state: TripCreationState) => state as TripCreationRun;

/** The paid path up to the moment the provider is being called. */
const paying = [dear, checked(false), paymentCreated(130.5)];

describe('Trip creation saga', () => {
  describe('start and association', () => {
    it('is started by TripCreated, associated with the trip and its payment', () => {
      expect(saga.startedBy(cheap)).toEqual({ sagaId, associations: ['trip:t1', 'payment:t1'] });
      expect(saga.startedBy(tripConfirmed)).toBeNull();
      expect(saga.associationsOf(paymentPaid)).toEqual(['payment:t1']);
      expect(saga.associationsOf(tripCancelled)).toEqual(['trip:t1']);
    });

    it('given nothing, when an input other than TripCreated comes, then nothing happens and nothing starts', () => {
      const { decision } = spec.given([]).when(paymentPaid);
      expect(decision).toEqual({ commands: [], state: { status: 'NOT_STARTED' } });
    });
  });

  describe('step 2: validation', () => {
    it('given nothing, when a trip within the distance limit is created, then the passenger is checked', () =>
      spec.given([]).when(cheap).thenSends([checkPassenger]));

    it('given nothing, when a trip too far is created, then it is rejected with the reason at once', () => {
      const reason = 'The trip is 80.5 km long; at most 50 km is allowed.';
      spec.given([]).when(tripCreated(211.25, 80.5)).thenSends([rejectTrip(reason)]);
      const { state, decisions } = play([tripCreated(211.25, 80.5), tripRejected]);
      expect(decisions.at(-1)?.ended).toBe(true);
      expect(run(state)).toMatchObject({ status: 'ENDED', outcome: 'COMPENSATED', payment: 'NONE' });
    });

    it('given a created trip, when the passenger turns out banned, then the trip is rejected and no payment is created', () => {
      spec.given([cheap]).when(checked(true)).thenSends([rejectTrip('Passenger p1 is banned.')]);
      const { commands, state } = play([cheap, checked(true), tripRejected]);
      expect(commands.map((c) => c.type)).toEqual(['CheckPassenger', 'RejectTrip']);
      expect(run(state).status).toBe('ENDED');
    });

    it('given a created trip, when the passenger is not registered, then the trip is rejected', () =>
      spec.given([cheap]).when(checked(false, false)).thenSends([rejectTrip('Passenger p1 is not registered.')]));

    it('given a created trip, when the passenger may ride, then the payment is created for the fare', () =>
      spec.given([cheap]).when(checked(false)).thenSends([createPayment(72.41)]));
  });

  describe('steps 3-5 without payment: a fare at or below the threshold', () => {
    it('given a created payment of 72.41, then the trip is confirmed without paying', () => {
      const { decision } = spec.given([cheap, checked(false)]).when(paymentCreated(72.41));
      expect(decision.commands).toEqual([confirmTrip]);
      expect(decision.schedule).toBeUndefined();
    });

    it('given a fare of exactly 100, then no payment is required (strictly above)', () =>
      spec.given([tripCreated(100), checked(false)]).when(paymentCreated(100)).thenSends([confirmTrip]));

    it('when the trip is confirmed, then the saga ends confirmed and the payment stays created (not paid)', () => {
      const { state, decisions } = play([cheap, checked(false), paymentCreated(72.41), tripConfirmed]);
      expect(decisions.at(-1)).toMatchObject({ commands: [], ended: true });
      expect(run(state)).toMatchObject({ outcome: 'CONFIRMED', payment: 'CREATED', paymentRequired: false, unpaid: false });
    });
  });

  describe('step 4: payment', () => {
    it('given a fare above 100, when the payment is created, then it is paid under a PAYMENT_TIMEOUT deadline', () => {
      const { decision } = spec.given([dear, checked(false)]).when(paymentCreated(130.5));
      expect(decision.commands).toEqual([payPayment]);
      expect(decision.schedule).toEqual([{ name: PAYMENT_TIMEOUT, afterMs: 30_000 }]);
    });

    it('given the payment is being paid, when it is paid, then the trip is confirmed and the deadline cancelled', () => {
      const { decision } = spec.given(paying).when(paymentPaid);
      expect(decision.commands).toEqual([confirmTrip]);
      expect(decision.cancelDeadlines).toEqual([PAYMENT_TIMEOUT]);
      const { state } = play([...paying, paymentPaid, tripConfirmed]);
      expect(run(state)).toMatchObject({ status: 'ENDED', outcome: 'CONFIRMED', payment: 'PAID' });
    });

    it('given the payment is being paid, when it is declined, then the saga is unpaid and compensates in reverse: payment, then trip', () => {
      const { decision } = spec.given(paying).when(paymentDeclined);
      expect(decision.commands).toEqual([cancelPayment('The payment was declined: Card declined.', chargeKey)]);
      expect(decision.cancelDeadlines).toEqual([PAYMENT_TIMEOUT]);
      expect(run(decision.state).unpaid).toBe(true);

      spec.given([...paying, paymentDeclined]).when(paymentCancelled).thenSends([rejectTrip('The payment was declined: Card declined.')]);
      const { state, commands } = play([...paying, paymentDeclined, paymentCancelled, tripRejected]);
      expect(commands.map((c) => c.type)).not.toContain('ConfirmTrip');
      expect(run(state)).toMatchObject({ status: 'ENDED', outcome: 'COMPENSATED', payment: 'CANCELLED', trip: 'REJECTED', unpaid: true });
    });
  });

  describe('the payment timeout', () => {
    it('given the payment is being paid, when PAYMENT_TIMEOUT is reached, then the payment is cancelled, then the trip rejected', () => {
      const reason = 'The payment did not complete within 30 s.';
      spec.given(paying).when(timeout).thenSends([cancelPayment(reason, chargeKey)]);
      spec.given([...paying, timeout]).when(paymentCancelled).thenSends([rejectTrip(reason)]);
      const { state } = play([...paying, timeout, paymentCancelled, tripRejected]);
      expect(run(state)).toMatchObject({ status: 'ENDED', outcome: 'COMPENSATED', unpaid: true });
    });

    it('given the timeout fired, when the late payment was recorded before the cancellation, then it is refunded before the trip is rejected', () => {
      const { commands, state } = play([
        ...paying,
        timeout,
        paymentPaid,
        commandRejected(cancelPayment('x'), 'ILLEGAL_STATE', 'Payment t1 cannot be cancelled: it is PAID; refund it instead.'),
        paymentRefunded,
        tripRejected,
      ]);
      expect(commands.map((c) => c.type)).toEqual(['CheckPassenger', 'CreatePayment', 'PayPayment', 'CancelPayment', 'RefundPayment', 'RejectTrip']);
      expect(run(state)).toMatchObject({ status: 'ENDED', payment: 'REFUNDED', trip: 'REJECTED' });
    });

    it('given the timeout fired, when the provider had charged after all (the CancelPayment found it and recorded it paid), then it is refunded and the trip rejected', () => {
      const reason = 'The payment did not complete within 30 s.';
      spec.given([...paying, timeout]).when(paymentPaid).thenSends([refundPayment(reason)]);
      spec.given([...paying, timeout, paymentPaid]).when(paymentRefunded).thenSends([rejectTrip(reason)]);
      const { commands, state } = play([...paying, timeout, paymentPaid, paymentRefunded, tripRejected]);
      expect(commands.map((c) => c.type)).toEqual(['CheckPassenger', 'CreatePayment', 'PayPayment', 'CancelPayment', 'RefundPayment', 'RejectTrip']);
      expect(run(state)).toMatchObject({ status: 'ENDED', outcome: 'COMPENSATED', payment: 'REFUNDED', trip: 'REJECTED' });
    });

    it('given the payment was paid, when the deadline is reached anyway, then it is ignored', () =>
      spec.given([...paying, paymentPaid]).when(timeout).thenSendsNothing());
  });

  describe('isolation: the passenger cancels while the saga is paying', () => {
    it('given TripCancelled is seen while paying, when the payment is paid, then it is refunded and the trip is never confirmed', () => {
      spec.given([...paying]).when(tripCancelled).thenSendsNothing(); // waits for the payment's outcome
      const { decision } = spec.given([...paying, tripCancelled]).when(paymentPaid);
      expect(decision.commands).toEqual([refundPayment('The trip was cancelled: Changed my mind.')]);
      const { commands, state } = play([...paying, tripCancelled, paymentPaid, paymentRefunded]);
      expect(commands.map((c) => c.type)).not.toContain('ConfirmTrip');
      expect(run(state)).toMatchObject({ status: 'ENDED', outcome: 'COMPENSATED', trip: 'CANCELLED', payment: 'REFUNDED' });
    });

    it('given the trip was confirmed-to-be after payment, when ConfirmTrip is refused (cancelled meanwhile), then the payment is refunded', () => {
      const refused = commandRejected(confirmTrip, 'ILLEGAL_STATE', 'Trip t1 cannot be confirmed: it is CANCELLED.');
      const { decision } = spec.given([...paying, paymentPaid]).when(refused);
      expect(decision.commands).toEqual([refundPayment('The trip could not be confirmed: Trip t1 cannot be confirmed: it is CANCELLED.')]);
      const { state, decisions } = play([...paying, paymentPaid, refused, tripCancelled, paymentRefunded]);
      expect(decisions.at(-1)?.ended).toBe(true);
      expect(run(state)).toMatchObject({ outcome: 'COMPENSATED', payment: 'REFUNDED' });
    });

    it('given TripCancelled is seen while paying, when the payment is declined, then it is cancelled and the trip is not rejected', () => {
      const { commands, state } = play([...paying, tripCancelled, paymentDeclined, paymentCancelled]);
      expect(commands.map((c) => c.type)).toEqual(['CheckPassenger', 'CreatePayment', 'PayPayment', 'CancelPayment']);
      expect(run(state)).toMatchObject({ status: 'ENDED', trip: 'CANCELLED', payment: 'CANCELLED' });
    });

    it('given a fare without payment, when ConfirmTrip is refused, then the created payment is cancelled (nothing dangles)', () => {
      const refused = commandRejected(confirmTrip, 'ILLEGAL_STATE', 'Trip t1 cannot be confirmed: it is CANCELLED.');
      const { commands, state } = play([cheap, checked(false), paymentCreated(72.41), refused, paymentCancelled]);
      expect(commands.at(-1)?.type).toBe('CancelPayment');
      expect(run(state)).toMatchObject({ status: 'ENDED', payment: 'CANCELLED' });
    });

    it('given the trip is cancelled before the passenger check answered, then no payment is ever created', () => {
      const { commands, state } = play([cheap, tripCancelled, checked(false)]);
      expect(commands).toEqual([checkPassenger]);
      expect(run(state)).toMatchObject({ status: 'ENDED', payment: 'NONE' });
    });

    it('given the payment creation was sent, when the trip is cancelled, then the saga waits for the payment to cancel it', () => {
      spec.given([cheap, checked(false)]).when(tripCancelled).thenSendsNothing();
      spec.given([cheap, checked(false), tripCancelled]).when(paymentCreated(72.41)).thenSends([cancelPayment('The trip was cancelled: Changed my mind.')]);
    });
  });

  describe('repeats and late inputs', () => {
    const paths: Record<string, TripCreationInput[]> = {
      'no payment': [cheap, checked(false), paymentCreated(72.41), tripConfirmed],
      paid: [...paying, paymentPaid, tripConfirmed],
      declined: [...paying, paymentDeclined, paymentCancelled, tripRejected],
      banned: [cheap, checked(true), tripRejected],
      'cancelled while paying': [...paying, tripCancelled, paymentPaid, paymentRefunded],
      'timed out': [...paying, timeout, paymentCancelled, tripRejected],
    };

    it.each(Object.entries(paths))('given the %s path, when every input is delivered twice, then the same commands are sent once', (_name, inputs) => {
      const once = play(inputs);
      const twice = play(inputs.flatMap((input) => [input, input]));
      expect(twice.commands).toEqual(once.commands);
      expect(twice.state).toEqual(once.state);
      expect(new Set(twice.commands.map((c) => c.commandId)).size).toBe(twice.commands.length);
    });

    it('given an ended saga, when anything else comes, then it is ignored', () => {
      const ended = [...paying, paymentPaid, tripConfirmed];
      spec.given(ended).when(tripCancelled).thenSendsNothing();
      spec.given(ended).when(timeout).thenSendsNothing();
    });

    it('given a refused refund, then the saga ends with the problem recorded for an operator', () => {
      const refused = commandRejected(refundPayment('x'), 'ILLEGAL_STATE', 'nope');
      const { state } = play([...paying, tripCancelled, paymentPaid, refused]);
      expect(run(state)).toMatchObject({ status: 'ENDED', payment: 'STUCK', problems: ['Refund refused: nope'] });
    });

    it('sends every command with the id ${sagaId}:${step}', () => {
      const { commands } = play(paths.paid!);
      expect(commands.map((c) => c.commandId)).toEqual([
        `${sagaId}:check-passenger`,
        `${sagaId}:create-payment`,
        `${sagaId}:pay-payment`,
        `${sagaId}:confirm-trip`,
      ]);
    });
  });
});
