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
});
