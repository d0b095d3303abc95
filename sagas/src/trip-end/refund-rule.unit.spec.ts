import type { PaymentEvent, TripEvent } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { refundOnTripEnd } from './refund-rule.ts';

const tripId = 't1';
const created: TripEvent = {
  type: 'TripCreated',
  data: { tripId, passengerId: 'p1', start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.9, lat: 48.9 }, distanceKm: 42.7, fare: 117.2, requestedAt: '2026-11-23T10:00:00.000Z' },
};
const confirmed: TripEvent = { type: 'TripConfirmed', data: { tripId } };
const dispatching: TripEvent = { type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: ['d1'] } };
const cancelled: TripEvent = { type: 'TripCancelled', data: { tripId, reason: 'Plans changed.', cancelledBy: 'passenger' } };
const noDriver: TripEvent = { type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVERS_AVAILABLE' } };
const noneAccepted: TripEvent = { type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVER_ACCEPTED' } };
const paymentCreated: PaymentEvent = { type: 'PaymentCreated', data: { paymentId: tripId, tripId, passengerId: 'p1', amount: 117.2 } };
const paid: PaymentEvent = { type: 'PaymentPaid', data: { paymentId: tripId, tripId, amount: 117.2, providerReference: 'sim-1' } };
const refunded: PaymentEvent = { type: 'PaymentRefunded', data: { paymentId: tripId, tripId, amount: 117.2, reason: 'x' } };

describe('refundOnTripEnd: who refunds a trip that ended unfinished', () => {
  it.each([
    ['cancelled after confirmation', [created, confirmed, cancelled]],
    ['cancelled while dispatching', [created, confirmed, dispatching, cancelled]],
    ['dispatch failed: no driver available (issue 20, example 1)', [created, confirmed, noDriver]],
    ['dispatch failed: no driver accepted', [created, confirmed, dispatching, noneAccepted]],
  ])('given a paid payment and a trip %s, then it is refunded here', (_label, trip) => {
    expect(refundOnTripEnd(tripId, trip, [paymentCreated, paid])).toMatchObject({ kind: 'refund', payment: { status: 'PAID', providerReference: 'sim-1' } });
  });

  it('given a trip cancelled before confirmation, then the trip creation saga owns the refund', () =>
    expect(refundOnTripEnd(tripId, [created, cancelled], [paymentCreated, paid])).toEqual({ kind: 'nothing', why: expect.stringMatching(/before it was confirmed/) }));

  it.each([
    ['never charged (fare at or below the threshold)', [paymentCreated]],
    ['refunded already', [paymentCreated, paid, refunded]],
  ])('given a payment %s, then there is nothing to refund', (_label, payment) =>
    expect(refundOnTripEnd(tripId, [created, confirmed, noDriver], payment)).toEqual({ kind: 'nothing', why: expect.stringMatching(/nothing to refund/) }));

  it('given a confirmed trip still running, then nothing is refunded', () =>
    expect(refundOnTripEnd(tripId, [created, confirmed, dispatching], [paymentCreated, paid])).toEqual({ kind: 'nothing', why: expect.stringMatching(/DISPATCHING/) }));
});
