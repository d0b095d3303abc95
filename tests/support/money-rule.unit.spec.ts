import { fold, tripDecider, type PaymentEvent, type TripEvent } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { ledgerViolations, logViolations, type Ledger, type LoggedTrip } from './money-rule.ts';

const created = (tripId: string, fare: number): TripEvent => ({
  type: 'TripCreated',
  data: { tripId, passengerId: 'p1', start: { lng: 0, lat: 0 }, end: { lng: 0, lat: 0.4 }, distanceKm: 42.7, fare, requestedAt: '2026-11-23T10:00:00.000Z' },
});
const logged = (tripId: string, tripEvents: TripEvent[], paymentEvents: PaymentEvent[]): [string, LoggedTrip] => [tripId, { trip: fold(tripDecider, tripEvents), tripEvents, paymentEvents }];
const paid = (tripId: string, amount: number): PaymentEvent[] => [
  { type: 'PaymentCreated', data: { paymentId: tripId, tripId, passengerId: 'p1', amount } },
  { type: 'PaymentPaid', data: { paymentId: tripId, tripId, amount, providerReference: `sim-${tripId}` } },
];
const refunded = (tripId: string, amount: number): PaymentEvent => ({ type: 'PaymentRefunded', data: { paymentId: tripId, tripId, amount, reason: 'x', refundReference: `re-${tripId}` } });
const confirmed = (tripId: string): TripEvent => ({ type: 'TripConfirmed', data: { tripId } });
const failed = (tripId: string): TripEvent => ({ type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVERS_AVAILABLE' } });
const charge = (tripId: string, amount: number) => ({ paymentId: tripId, chargeReference: `sim-${tripId}`, amount });
const refund = (tripId: string, amount: number) => ({ paymentId: tripId, chargeReference: `sim-${tripId}`, amount, refundReference: `re-${tripId}` });

describe('the money rule over a log and a ledger', () => {
  it('given a charged trip whose dispatch failed and was never refunded (issue 20, example 1), then both checks name it', () => {
    const trips = new Map([logged('t1', [created('t1', 116.75), confirmed('t1'), failed('t1')], paid('t1', 116.75))]);
    const ledger: Ledger = { charges: [charge('t1', 116.75)], refunds: [] };
    expect(ledgerViolations(trips, ledger)).toEqual([expect.stringMatching(/t1 ended DISPATCH_FAILED: the provider kept 116.75, the rule says 0/)]);
    expect(logViolations(trips)).toEqual([expect.stringMatching(/t1 ended DISPATCH_FAILED: its charge is recorded and never refunded/)]);
  });

  it('given the same trip refunded, in the ledger and the log, then money is conserved', () => {
    const trips = new Map([logged('t1', [created('t1', 116.75), confirmed('t1'), failed('t1')], [...paid('t1', 116.75), refunded('t1', 116.75)])]);
    expect(ledgerViolations(trips, { charges: [charge('t1', 116.75)], refunds: [refund('t1', 116.75)] })).toEqual([]);
    expect(logViolations(trips)).toEqual([]);
  });

  it('given a refund the provider made that the log does not hold, then it is named', () => {
    const trips = new Map([logged('t1', [created('t1', 116.75), confirmed('t1'), failed('t1')], paid('t1', 116.75))]);
    expect(ledgerViolations(trips, { charges: [charge('t1', 116.75)], refunds: [refund('t1', 116.75)] })).toEqual([expect.stringMatching(/the log records \[\]/)]);
  });

  it('given a charge of no trip, or a trip still running, then the first is named and the second not judged', () => {
    const trips = new Map([logged('t2', [created('t2', 116.75), confirmed('t2')], paid('t2', 116.75))]);
    expect(ledgerViolations(trips, { charges: [charge('t2', 116.75), charge('ghost', 5)], refunds: [] })).toEqual([expect.stringMatching(/belongs to no trip/)]);
  });

  const finishedTrip = (tripId: string, fare: number): TripEvent[] => [
    created(tripId, fare),
    confirmed(tripId),
    { type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: ['d1'] } },
    { type: 'DriverAcceptedTrip', data: { tripId, driverId: 'd1', position: { lng: 0, lat: 0 }, acceptedAt: '2026-11-23T10:01:00.000Z' } },
    { type: 'TripDriverAssigned', data: { tripId, driverId: 'd1' } },
    { type: 'TripStarted', data: { tripId, startedAt: '2026-11-23T10:02:00.000Z' } },
    { type: 'TripFinished', data: { tripId, finishedAt: '2026-11-23T10:20:00.000Z' } },
  ];
  const createdPayment = (tripId: string, amount: number): PaymentEvent => ({ type: 'PaymentCreated', data: { paymentId: tripId, tripId, passengerId: 'p1', amount } });
  const declined = (tripId: string): PaymentEvent => ({ type: 'PaymentDeclined', data: { paymentId: tripId, tripId, reason: 'The card was declined.' } });

  it('given a FINISHED trip with a small fare never charged (the gap: payment still CREATED), then both checks name it', () => {
    const trips = new Map([logged('t3', finishedTrip('t3', 15), [createdPayment('t3', 15)])]);
    expect(ledgerViolations(trips, { charges: [], refunds: [] })).toEqual([expect.stringMatching(/t3 ended FINISHED: the provider kept 0, the rule says 15/)]);
    expect(logViolations(trips)).toEqual([expect.stringMatching(/t3 FINISHED: its fare was never charged/)]);
  });

  it('given FINISHED trips charged at creation or at finish, then money is conserved', () => {
    const trips = new Map([logged('t4', finishedTrip('t4', 116.75), paid('t4', 116.75)), logged('t5', finishedTrip('t5', 15), paid('t5', 15))]);
    expect(ledgerViolations(trips, { charges: [charge('t4', 116.75), charge('t5', 15)], refunds: [] })).toEqual([]);
    expect(logViolations(trips)).toEqual([]);
  });

  it('given a FINISHED trip whose charge at finish was declined (the one exception: owed), then money is conserved with nothing kept, and a charge kept is named', () => {
    const trips = new Map([logged('t6', finishedTrip('t6', 15), [createdPayment('t6', 15), declined('t6')])]);
    expect(ledgerViolations(trips, { charges: [], refunds: [] })).toEqual([]);
    expect(logViolations(trips)).toEqual([]);
    expect(ledgerViolations(trips, { charges: [charge('t6', 15)], refunds: [] })).toEqual([expect.stringMatching(/t6 ended FINISHED: the provider kept 15, the rule says 0/)]);
  });

  it('given a FINISHED trip whose payment was declined then cancelled (not a decline at finish), then the exception does not apply', () => {
    const cancelled: PaymentEvent = { type: 'PaymentCancelled', data: { paymentId: 't7', tripId: 't7', reason: 'x' } };
    const trips = new Map([logged('t7', finishedTrip('t7', 15), [createdPayment('t7', 15), declined('t7'), cancelled])]);
    expect(ledgerViolations(trips, { charges: [], refunds: [] })).toEqual([expect.stringMatching(/the rule says 15/)]);
    expect(logViolations(trips)).toEqual([expect.stringMatching(/never charged/)]);
  });
});
