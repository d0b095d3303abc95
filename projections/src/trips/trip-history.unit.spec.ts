import type { TripEvent } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { addTransition, evolveTrip, paymentStatusAfter, type KnownNames, type TripHistoryDocument } from './trip-history.ts';
import { envelope } from './trip-history.testing.ts';

const noNames: KnownNames = { passengers: new Map(), drivers: new Map() };
const names: KnownNames = {
  passengers: new Map([['p1', { name: 'Ada', version: 2 }]]),
  drivers: new Map([['d1', { name: 'Ayrton', version: 3 }]]),
};
const created: TripEvent = {
  type: 'TripCreated',
  data: { tripId: 't1', passengerId: 'p1', start: { lng: 2.35, lat: 48.85 }, end: { lng: 2.29, lat: 48.86 }, distanceKm: 4.2, fare: 16.4, requestedAt: 'requested' },
};

/** Folds trip events (versions 1, 2, …) with the names given. */
const fold = (events: TripEvent[], known = names) =>
  events.reduce<TripHistoryDocument | null>((doc, event, i) => evolveTrip(doc, envelope('trip', 't1', i + 1, event, `at${i + 1}`), known), null);

const assigned: TripEvent[] = [
  created,
  { type: 'TripConfirmed', data: { tripId: 't1' } },
  { type: 'TripDispatchStarted', data: { tripId: 't1', candidateDriverIds: ['d1', 'd2'] } },
  { type: 'DriverAcceptedTrip', data: { tripId: 't1', driverId: 'd1', position: { lng: 2.3, lat: 48.8 }, acceptedAt: 'acc' } },
  { type: 'TripDriverAssigned', data: { tripId: 't1', driverId: 'd1' } },
];

describe('evolveTrip', () => {
  it('given TripCreated with the passenger known, then the trip is CREATED with the name, its version and requestedAt as createdAt', () => {
    expect(fold([created])).toEqual({
      _id: 't1',
      version: 1,
      passengerId: 'p1',
      passengerName: 'Ada',
      passengerNameVersion: 2,
      driverId: null,
      driverName: null,
      driverNameVersion: 0,
      start: { lng: 2.35, lat: 48.85 },
      end: { lng: 2.29, lat: 48.86 },
      distanceKm: 4.2,
      fare: 16.4,
      state: 'CREATED',
      paymentStatus: 'NONE',
      paymentVersion: 0,
      candidateDriverIds: [],
      rejectionReason: null,
      dispatchFailureReason: null,
      cancellationReason: null,
      cancelledBy: null,
      cancellationRequestedBy: null,
      createdAt: 'requested',
      updatedAt: 'at1',
      startedAt: null,
      finishedAt: null,
    });
  });

  it('given TripCreated after its payment was seen, then the trip takes the payment status and version', () => {
    const payments = new Map([['t1', { status: 'PAID' as const, version: 2 }]]);
    expect(evolveTrip(null, envelope('trip', 't1', 1, created), names, payments)).toMatchObject({ paymentStatus: 'PAID', paymentVersion: 2 });
  });

  it('given TripCreated before the passenger is known, then the name is null at name version 0', () => {
    expect(fold([created], noNames)).toMatchObject({ passengerName: null, passengerNameVersion: 0 });
  });

  it('given TripConfirmed, then the trip is CONFIRMED and updated at the event', () => {
    expect(fold([created, { type: 'TripConfirmed', data: { tripId: 't1' } }])).toMatchObject({ state: 'CONFIRMED', version: 2, updatedAt: 'at2' });
  });

  it('given TripRejected, then the trip is REJECTED with the reason', () => {
    expect(fold([created, { type: 'TripRejected', data: { tripId: 't1', reason: 'banned' } }])).toMatchObject({ state: 'REJECTED', rejectionReason: 'banned' });
  });

  it('given TripDispatchStarted, then the trip is DISPATCHING with its candidates', () => {
    expect(fold(assigned.slice(0, 3))).toMatchObject({ state: 'DISPATCHING', candidateDriverIds: ['d1', 'd2'] });
  });

  it('given DriverAcceptedTrip, then only the version and updatedAt move', () => {
    const before = fold(assigned.slice(0, 3))!;
    expect(fold(assigned.slice(0, 4))).toEqual({ ...before, version: 4, updatedAt: 'at4' });
  });

  it('given TripDriverAssigned with the driver known, then the trip has the driver, the name and its version', () => {
    expect(fold(assigned)).toMatchObject({ state: 'DRIVER_ASSIGNED', driverId: 'd1', driverName: 'Ayrton', driverNameVersion: 3 });
  });

  it('given TripDriverAssigned before the driver is known, then the driver name is null at version 0', () => {
    expect(fold(assigned, { ...names, drivers: new Map() })).toMatchObject({ driverId: 'd1', driverName: null, driverNameVersion: 0 });
  });

  it('given TripDispatchFailed, then the trip is DISPATCH_FAILED with the reason', () => {
    expect(fold([...assigned.slice(0, 3), { type: 'TripDispatchFailed', data: { tripId: 't1', reason: 'NO_DRIVER_ACCEPTED' } }])).toMatchObject({
      state: 'DISPATCH_FAILED',
      dispatchFailureReason: 'NO_DRIVER_ACCEPTED',
    });
  });

  it('given TripStarted then TripFinished, then the trip is FINISHED with both instants', () => {
    expect(
      fold([...assigned, { type: 'TripStarted', data: { tripId: 't1', startedAt: 's' } }, { type: 'TripFinished', data: { tripId: 't1', finishedAt: 'f' } }]),
    ).toMatchObject({ state: 'FINISHED', startedAt: 's', finishedAt: 'f' });
  });

  it('given TripCancellationRequested, then the trip awaits the answer with who asked and why', () => {
    expect(fold([...assigned, { type: 'TripCancellationRequested', data: { tripId: 't1', requestedBy: 'driver', reason: 'flat tyre' } }])).toMatchObject({
      state: 'CANCELLATION_REQUESTED',
      cancellationRequestedBy: 'driver',
      cancellationReason: 'flat tyre',
      cancelledBy: null,
    });
  });

  it('given a request then TripCancelled, then the trip is CANCELLED by the requester with the reason', () => {
    expect(
      fold([
        ...assigned,
        { type: 'TripCancellationRequested', data: { tripId: 't1', requestedBy: 'driver', reason: 'flat tyre' } },
        { type: 'TripCancelled', data: { tripId: 't1', reason: 'flat tyre', cancelledBy: 'driver' } },
      ]),
    ).toMatchObject({ state: 'CANCELLED', cancelledBy: 'driver', cancellationReason: 'flat tyre', cancellationRequestedBy: 'driver' });
  });

  it('given a request then TripCancellationResolutionRequired, then the trip is DRIVER_ASSIGNED again and the request is gone', () => {
    expect(
      fold([
        ...assigned,
        { type: 'TripCancellationRequested', data: { tripId: 't1', requestedBy: 'passenger', reason: 'late' } },
        { type: 'TripCancellationResolutionRequired', data: { tripId: 't1' } },
      ]),
    ).toMatchObject({ state: 'DRIVER_ASSIGNED', cancellationRequestedBy: null, cancellationReason: null, driverId: 'd1' });
  });

  it('given TripCancelled before a driver, then the trip is CANCELLED by the passenger', () => {
    expect(fold([created, { type: 'TripCancelled', data: { tripId: 't1', reason: 'changed my mind', cancelledBy: 'passenger' } }])).toMatchObject({
      state: 'CANCELLED',
      cancelledBy: 'passenger',
      cancellationReason: 'changed my mind',
    });
  });

  it('given an event on a trip that does not exist, then there is no document (and no error)', () => {
    expect(evolveTrip(null, envelope('trip', 't1', 1, { type: 'TripConfirmed', data: { tripId: 't1' } }), names)).toBeNull();
  });
});

describe('addTransition', () => {
  const run = (...pairs: [Parameters<typeof addTransition>[1], Parameters<typeof addTransition>[2]][]) => {
    const into = new Map<string, number>();
    for (const [before, after] of pairs) addTransition(into, before, after);
    return Object.fromEntries(into);
  };

  it('given a new trip, then the total and its state go up by one', () => {
    expect(run([null, 'CREATED'])).toEqual({ total: 1, 'byState.CREATED': 1 });
  });

  it('given a transition, then one moves from the old state to the new', () => {
    expect(run(['CREATED', 'CONFIRMED'])).toEqual({ 'byState.CREATED': -1, 'byState.CONFIRMED': 1 });
  });

  it('given a trip created and moved on in one batch, then only the total and the last state go up', () => {
    expect(run([null, 'CREATED'], ['CREATED', 'CONFIRMED'], ['CONFIRMED', 'REJECTED'])).toEqual({
      total: 1,
      'byState.CREATED': 0,
      'byState.CONFIRMED': 0,
      'byState.REJECTED': 1,
    });
  });

  it('given no change of state, then nothing moves', () => {
    expect(run(['DISPATCHING', 'DISPATCHING'])).toEqual({});
  });
});

describe('paymentStatusAfter', () => {
  it.each([
    [{ type: 'PaymentCreated', data: { paymentId: 't1', tripId: 't1', passengerId: 'p1', amount: 120 } }, 'CREATED'],
    [{ type: 'PaymentPaid', data: { paymentId: 't1', tripId: 't1', amount: 120 } }, 'PAID'],
    [{ type: 'PaymentDeclined', data: { paymentId: 't1', tripId: 't1', reason: 'r' } }, 'DECLINED'],
    [{ type: 'PaymentRefunded', data: { paymentId: 't1', tripId: 't1', amount: 120, reason: 'r' } }, 'REFUNDED'],
    [{ type: 'PaymentCancelled', data: { paymentId: 't1', tripId: 't1', reason: 'r' } }, 'CANCELLED'],
    [{ type: 'PaymentLateChargeRefunded', data: { paymentId: 't1', tripId: 't1', amount: 120, chargeReference: 'c', refundReference: 'r', reason: 'r' } }, 'CANCELLED'],
  ] as const)('given %o, then the payment is %s (the domain status names)', (event, status) => {
    expect(paymentStatusAfter(event)).toBe(status);
  });
});
