import type { PaymentEvent, TripEvent } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { settleOnTripEnd } from './settle-rule.ts';

const tripId = 't1';
const created: TripEvent = {
  type: 'TripCreated',
  data: { tripId, passengerId: 'p1', start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.9, lat: 48.9 }, distanceKm: 42.7, fare: 117.2, requestedAt: '2026-11-23T10:00:00.000Z' },
};
const confirmed: TripEvent = { type: 'TripConfirmed', data: { tripId } };
const dispatching: TripEvent = { type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: ['d1'] } };
const cancelled: TripEvent = { type: 'TripCancelled', data: { tripId, reason: 'Plans changed.', cancelledBy: 'passenger' } };
const noDriver: TripEvent = { type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVERS_AVAILABLE' } };
const accepted: TripEvent = { type: 'DriverAcceptedTrip', data: { tripId, driverId: 'd1', position: { lng: 2.35, lat: 48.85 }, acceptedAt: '2026-11-23T10:01:00.000Z' } };
const assigned: TripEvent = { type: 'TripDriverAssigned', data: { tripId, driverId: 'd1' } };
const started: TripEvent = { type: 'TripStarted', data: { tripId, startedAt: '2026-11-23T10:05:00.000Z' } };
const finished: TripEvent = { type: 'TripFinished', data: { tripId, finishedAt: '2026-11-23T10:30:00.000Z' } };
const noneAccepted: TripEvent = { type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVER_ACCEPTED' } };
const paymentCreated: PaymentEvent = { type: 'PaymentCreated', data: { paymentId: tripId, tripId, passengerId: 'p1', amount: 117.2 } };
const paid: PaymentEvent = { type: 'PaymentPaid', data: { paymentId: tripId, tripId, amount: 117.2, providerReference: 'sim-1' } };
const declined: PaymentEvent = { type: 'PaymentDeclined', data: { paymentId: tripId, tripId, reason: 'The card was declined.' } };
const refunded: PaymentEvent = { type: 'PaymentRefunded', data: { paymentId: tripId, tripId, amount: 117.2, reason: 'x' } };

describe('settleOnTripEnd: who settles the money of a trip that ended', () => {
  it.each([
    ['cancelled after confirmation', [created, confirmed, cancelled]],
    ['cancelled while dispatching', [created, confirmed, dispatching, cancelled]],
    ['dispatch failed: no driver available (issue 20, example 1)', [created, confirmed, noDriver]],
    ['dispatch failed: no driver accepted', [created, confirmed, dispatching, noneAccepted]],
  ])('given a paid payment and a trip %s, then it is refunded here', (_label, trip) => {
    expect(settleOnTripEnd(tripId, trip, [paymentCreated, paid])).toMatchObject({ kind: 'refund', payment: { status: 'PAID', providerReference: 'sim-1' } });
  });

  it('given a trip cancelled before confirmation, then the trip creation saga owns the refund', () =>
    expect(settleOnTripEnd(tripId, [created, cancelled], [paymentCreated, paid])).toEqual({ kind: 'nothing', why: expect.stringMatching(/before it was confirmed/) }));

  it.each([
    ['never charged (fare at or below the threshold)', [paymentCreated]],
    ['refunded already', [paymentCreated, paid, refunded]],
  ])('given a payment %s, then there is nothing to refund', (_label, payment) =>
    expect(settleOnTripEnd(tripId, [created, confirmed, noDriver], payment)).toEqual({ kind: 'nothing', why: expect.stringMatching(/nothing to refund/) }));

  it('given a confirmed trip still running, then nothing is refunded', () =>
    expect(settleOnTripEnd(tripId, [created, confirmed, dispatching], [paymentCreated, paid])).toEqual({ kind: 'nothing', why: expect.stringMatching(/DISPATCHING/) }));

  const ride = [created, confirmed, dispatching, accepted, assigned, started, finished];
  it('given a finished trip whose payment was never charged (fare at or below the threshold), then its fare is charged here', () =>
    expect(settleOnTripEnd(tripId, ride, [paymentCreated])).toMatchObject({ kind: 'charge', payment: { status: 'CREATED', amount: 117.2, passengerId: 'p1' } }));

  it.each([
    ['charged when the trip was created', [paymentCreated, paid], /PAID: nothing to charge/],
    ['declined at finish', [paymentCreated, declined], /DECLINED: nothing to charge \(declined: the passenger owes the fare\)/],
  ])('given a finished trip whose payment was %s, then there is nothing to charge', (_label, payment, why) =>
    expect(settleOnTripEnd(tripId, ride, payment)).toEqual({ kind: 'nothing', why: expect.stringMatching(why) }));
});
