import { describe, expect, it } from 'vitest';
import type { Actor, CommandMetadata } from '../decider.ts';
import { fold } from '../decider.ts';
import type { PositionReport } from '../driver/plausibility.ts';
import { destinationPoint, type Position } from '../geo.ts';
import { deciderSpecification } from '../testing/decider-specification.ts';
import {
  createTripDecider,
  tripDecider,
  tripStatuses,
  type DispatchFailureReason,
  type TripCommand,
  type TripEvent,
  type TripStatus,
} from './index.ts';

const spec = deciderSpecification(tripDecider);

const ada: Actor = { id: 'p1', role: 'passenger' };
const eve: Actor = { id: 'p2', role: 'passenger' };
const bo: Actor = { id: 'd1', role: 'driver' }; // offered, accepts, gets assigned
const cy: Actor = { id: 'd2', role: 'driver' }; // offered, never accepts
const dan: Actor = { id: 'd9', role: 'driver' }; // never offered
const admin: Actor = { id: 'ops', role: 'admin' };
const system: Actor = { id: 'dispatch', role: 'system' };
const now = '2026-11-23T10:05:00.000Z';
const meta = (actor: Actor): CommandMetadata => ({ commandId: 'c1', actor, now });
const secondsBefore = (instant: string, seconds: number) => new Date(Date.parse(instant) - seconds * 1000).toISOString();

const tiananmen: Position = { lng: 116.3975, lat: 39.9087 };
const capitalAirport: Position = { lng: 116.5871, lat: 40.0799 };
const boPosition: Position = { lng: 116.4, lat: 39.91 };
const tripId = 't1';

// ---- events ---------------------------------------------------------------------------------
const created: TripEvent = {
  type: 'TripCreated',
  // haversine 24.96525… km → 24.965; fare 10 + 2.5 × 24.965 = 72.4125 → 72.41
  data: { tripId, passengerId: 'p1', start: tiananmen, end: capitalAirport, distanceKm: 24.965, fare: 72.41, requestedAt: '2026-11-23T10:00:00.000Z' },
};
const confirmed: TripEvent = { type: 'TripConfirmed', data: { tripId } };
const rejected: TripEvent = { type: 'TripRejected', data: { tripId, reason: 'Passenger is banned.' } };
const dispatchStarted: TripEvent = { type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: ['d1', 'd2'] } };
const boAccepted: TripEvent = { type: 'DriverAcceptedTrip', data: { tripId, driverId: 'd1', position: boPosition, acceptedAt: now } };
const boAssigned: TripEvent = { type: 'TripDriverAssigned', data: { tripId, driverId: 'd1' } };
const failed = (reason: DispatchFailureReason): TripEvent => ({ type: 'TripDispatchFailed', data: { tripId, reason } });
const started: TripEvent = { type: 'TripStarted', data: { tripId, startedAt: now } };
const finished: TripEvent = { type: 'TripFinished', data: { tripId, finishedAt: now } };
const requestedBy = (party: 'passenger' | 'driver', reason = 'Plans changed.'): TripEvent => ({
  type: 'TripCancellationRequested',
  data: { tripId, requestedBy: party, reason },
});
const cancelled = (cancelledBy: 'passenger' | 'driver' | 'admin', reason = 'Plans changed.'): TripEvent => ({
  type: 'TripCancelled',
  data: { tripId, reason, cancelledBy },
});
const disputed: TripEvent = { type: 'TripCancellationResolutionRequired', data: { tripId } };

/** One history per state; after dispatch d1 and d2 were offered the trip and d1 got it. */
const dispatching = [created, confirmed, dispatchStarted];
const assigned = [...dispatching, boAccepted, boAssigned];
const history: Record<TripStatus, TripEvent[]> = {
  CREATED: [created],
  CONFIRMED: [created, confirmed],
  REJECTED: [created, rejected],
  DISPATCHING: dispatching,
  DRIVER_ASSIGNED: assigned,
  DISPATCH_FAILED: [...dispatching, failed('NO_DRIVER_ACCEPTED')],
  STARTED: [...assigned, started],
  FINISHED: [...assigned, started, finished],
  CANCELLATION_REQUESTED: [...assigned, requestedBy('passenger')],
  CANCELLED: [...assigned, cancelled('admin')],
};
/** States in which the trip has no assigned driver. */
const unassigned: TripStatus[] = ['CREATED', 'CONFIRMED', 'REJECTED', 'DISPATCHING', 'DISPATCH_FAILED'];
const except = (...excluded: TripStatus[]) => tripStatuses.filter((status) => !excluded.includes(status));
const illegal = (verb: string, status: TripStatus) => new RegExp(`^Trip t1 cannot be ${verb}: .*\\b${status}\\b`);

// ---- commands -------------------------------------------------------------------------------
const request = (data: Partial<{ tripId: string; passengerId: string; start: Position; end: Position }> = {}, actor = ada): TripCommand => ({
  type: 'RequestTrip',
  data: { tripId, passengerId: 'p1', start: tiananmen, end: capitalAirport, ...data },
  metadata: meta(actor),
});
const confirm = (actor = system): TripCommand => ({ type: 'ConfirmTrip', data: { tripId }, metadata: meta(actor) });
const reject = (reason = 'Passenger is banned.', actor = system): TripCommand => ({ type: 'RejectTrip', data: { tripId, reason }, metadata: meta(actor) });
const startDispatch = (candidateDriverIds = ['d1', 'd2'], actor = system): TripCommand => ({
  type: 'StartDispatch',
  data: { tripId, candidateDriverIds },
  metadata: meta(actor),
});
const accept = (actor: Actor = bo, driverId = actor.id, position: Position = boPosition, lastReport: PositionReport | null = null): TripCommand => ({
  type: 'AcceptTrip',
  data: { tripId, driverId, position, lastReport },
  metadata: meta(actor),
});
const assign = (driverId = 'd1', actor = system): TripCommand => ({ type: 'AssignDriver', data: { tripId, driverId }, metadata: meta(actor) });
const failDispatch = (reason: DispatchFailureReason = 'NO_DRIVER_ACCEPTED', actor = system): TripCommand => ({
  type: 'FailDispatch',
  data: { tripId, reason },
  metadata: meta(actor),
});
const start = (actor = bo): TripCommand => ({ type: 'StartTrip', data: { tripId }, metadata: meta(actor) });
const finish = (actor = bo): TripCommand => ({ type: 'FinishTrip', data: { tripId }, metadata: meta(actor) });
const cancel = (actor: Actor = ada, reason = 'Plans changed.'): TripCommand => ({ type: 'CancelTrip', data: { tripId, reason }, metadata: meta(actor) });
const respond = (actor: Actor, agree: boolean): TripCommand => ({ type: 'RespondToCancellation', data: { tripId, agree }, metadata: meta(actor) });

describe('Trip decider', () => {
  it.each(tripStatuses)('the test history for %s folds into that state', (status) =>
    expect(fold(tripDecider, history[status]).status).toBe(status));

  describe('RequestTrip', () => {
    it('given nothing, when a passenger requests a trip, then it is created with the distance and the fare', () =>
      spec
        .given([])
        .when(request())
        .then([{ ...created, data: { ...created.data, requestedAt: now } } as TripEvent]));

    it('given a decider with other pricing, when a passenger requests a trip, then the fare follows that pricing', () =>
      deciderSpecification(createTripDecider({ baseFare: 5, perKm: 2 }))
        .given([])
        .when(request())
        .then([{ ...created, data: { ...created.data, fare: 54.93, requestedAt: now } } as TripEvent]));

    it('given nothing, when the positions carry extra properties, then only lng and lat are recorded', () => {
      const [event] = tripDecider.decide(
        request({ start: { ...tiananmen, alt: 44 } as Position, end: { ...capitalAirport, note: 'T3' } as Position }),
        tripDecider.initialState(),
      );
      expect(event?.type === 'TripCreated' && event.data.start).toStrictEqual(tiananmen);
      expect(event?.type === 'TripCreated' && event.data.end).toStrictEqual(capitalAirport);
    });

    it.each(except())('given a trip in %s, when it is requested again, then it is an illegal state', (status) =>
      spec.given(history[status]).when(request()).thenFails('ILLEGAL_STATE', /^Trip t1 already exists\.$/));

    it.each([
      ['start.lng NaN', { start: { lng: Number.NaN, lat: 39.9 } }, /start\.lng must be a finite number between -180 and 180; got NaN/],
      ['start.lat Infinity', { start: { lng: 116.4, lat: Number.POSITIVE_INFINITY } }, /start\.lat .*-90 and 90; got Infinity/],
      ['end.lng 181', { end: { lng: 181, lat: 40 } }, /end\.lng .*-180 and 180; got 181/],
      ['end.lat -91', { end: { lng: 116.4, lat: -91 } }, /end\.lat .*-90 and 90; got -91/],
      ['end.lng -Infinity', { end: { lng: Number.NEGATIVE_INFINITY, lat: 40 } }, /end\.lng .*got -Infinity/],
      ['start equal to end', { end: { ...tiananmen } }, /start and end must be different/],
      ['an unsafe trip id', { tripId: 't.1' }, /tripId/],
    ])('given nothing, when the request has %s, then it is invalid input', (_label, data, message) =>
      spec.given([]).when(request(data)).thenFails('INVALID_INPUT', message));

    it.each([
      ['another passenger', eve],
      ['a driver with the passenger id', { id: 'p1', role: 'driver' } as Actor],
      ['an admin', admin],
      ['the system', system],
    ])('given nothing, when %s requests a trip for p1, then it is forbidden', (_label, actor) =>
      spec.given([]).when(request({}, actor)).thenFails('FORBIDDEN'));
  });

  describe('ConfirmTrip and RejectTrip (internal)', () => {
    it('given a created trip, when the saga confirms it, then it is confirmed', () =>
      spec.given(history.CREATED).when(confirm()).then([confirmed]));

    it('given a created trip, when the saga rejects it, then it is rejected with the trimmed reason', () =>
      spec.given(history.CREATED).when(reject('  Passenger is banned. ')).then([rejected]));

    it('given a created trip, when the saga rejects it without a reason, then it is invalid input', () =>
      spec.given(history.CREATED).when(reject('  ')).thenFails('INVALID_INPUT', /reason must not be empty/));

    it('given a created trip, when the reason is over 500 characters, then it is invalid input', () =>
      spec.given(history.CREATED).when(reject('x'.repeat(501))).thenFails('INVALID_INPUT', /at most 500/));

    it.each(except('CREATED'))('given a trip in %s, when the saga confirms it, then it is an illegal state', (status) =>
      spec.given(history[status]).when(confirm()).thenFails('ILLEGAL_STATE', illegal('confirmed', status)));

    it.each(except('CREATED'))('given a trip in %s, when the saga rejects it, then it is an illegal state', (status) =>
      spec.given(history[status]).when(reject()).thenFails('ILLEGAL_STATE', illegal('rejected', status)));

    it('given a cancelled trip, when the saga confirms it, then the message names trip, command and state', () =>
      spec.given([created, cancelled('passenger')]).when(confirm()).thenFails('ILLEGAL_STATE', /^Trip t1 cannot be confirmed: it is CANCELLED\.$/));
  });

  describe('StartDispatch (internal)', () => {
    it('given a confirmed trip, when dispatch starts, then the candidates are recorded without duplicates', () =>
      spec.given(history.CONFIRMED).when(startDispatch(['d1', 'd2', 'd1'])).then([dispatchStarted]));

    it('given a confirmed trip, when dispatch starts with no candidates, then it is invalid input', () =>
      spec.given(history.CONFIRMED).when(startDispatch([])).thenFails('INVALID_INPUT', /at least one driver/));

    it('given a confirmed trip, when a candidate id is not subject-safe, then it is invalid input', () =>
      spec.given(history.CONFIRMED).when(startDispatch(['d1', 'd*'])).thenFails('INVALID_INPUT', /candidateDriverIds/));

    it.each(except('CONFIRMED'))('given a trip in %s, when dispatch starts, then it is an illegal state', (status) =>
      spec.given(history[status]).when(startDispatch()).thenFails('ILLEGAL_STATE', illegal('dispatched', status)));
  });

  describe('AcceptTrip', () => {
    it('given a dispatching trip, when an offered driver accepts, then the acceptance carries their position and the time', () =>
      spec.given(history.DISPATCHING).when(accept()).then([boAccepted]));

    it('given a trip one driver accepted, when another offered driver accepts, then that is recorded too', () =>
      spec
        .given([...dispatching, boAccepted])
        .when(accept(cy))
        .then([{ type: 'DriverAcceptedTrip', data: { tripId, driverId: 'd2', position: boPosition, acceptedAt: now } }]));

    it('given a trip the driver accepted, when they accept again, then it is an illegal state', () =>
      spec.given([...dispatching, boAccepted]).when(accept()).thenFails('ILLEGAL_STATE', /d1 has already accepted it/));

    it('given a dispatching trip, when a driver who was not offered it accepts, then it is forbidden', () =>
      spec.given(history.DISPATCHING).when(accept(dan)).thenFails('FORBIDDEN', /not offered to driver d9/));

    it.each([
      ['a driver for another driver', accept(cy, 'd1')],
      ['the passenger', accept(ada, 'd1')],
      ['an admin', accept(admin, 'd1')],
      ['the system', accept(system, 'd1')],
    ])('given a dispatching trip, when %s accepts, then it is forbidden', (_label, command) =>
      spec.given(history.DISPATCHING).when(command).thenFails('FORBIDDEN'));

    it.each([
      ['lng NaN', { lng: Number.NaN, lat: 39.9 }, /position\.lng/],
      ['lat Infinity', { lng: 116.4, lat: Number.POSITIVE_INFINITY }, /position\.lat/],
      ['lng 181', { lng: 181, lat: 39.9 }, /position\.lng .*-180 and 180/],
      ['lat -91', { lng: 116.4, lat: -91 }, /position\.lat .*-90 and 90/],
    ])('given a dispatching trip, when the acceptance position has %s, then it is invalid input', (_label, position, message) =>
      spec.given(history.DISPATCHING).when(accept(bo, 'd1', position)).thenFails('INVALID_INPUT', message));

    it('given a driver who reported a position 10 s ago, when they accept 300 m from it, then it is recorded', () =>
      spec
        .given(history.DISPATCHING)
        .when(accept(bo, 'd1', destinationPoint(boPosition, 90, 0.3), { position: boPosition, at: secondsBefore(now, 10) }))
        .then([{ type: 'DriverAcceptedTrip', data: { tripId, driverId: 'd1', position: destinationPoint(boPosition, 90, 0.3), acceptedAt: now } }]));

    it('given a driver who reported a position 10 s ago, when they accept 25 km away (a teleport), then it is invalid input naming the speed', () =>
      spec
        .given(history.DISPATCHING)
        .when(accept(bo, 'd1', destinationPoint(boPosition, 45, 25), { position: boPosition, at: secondsBefore(now, 10) }))
        .thenFails('INVALID_INPUT', /position is not plausible: 25\.00 km .* 10\.0 s ago .*at most 200 km\/h/));

    it('given a driver who was not offered the trip, when they accept from far away, then it is forbidden (who may accept is checked first)', () =>
      spec
        .given(history.DISPATCHING)
        .when(accept(dan, 'd9', destinationPoint(boPosition, 45, 25), { position: boPosition, at: now }))
        .thenFails('FORBIDDEN'));

    it.each(except('DISPATCHING', 'CREATED', 'CONFIRMED', 'REJECTED'))(
      'given a trip in %s, when an offered driver accepts, then it is an illegal state',
      (status) => spec.given(history[status]).when(accept(cy)).thenFails('ILLEGAL_STATE', illegal('accepted', status)),
    );

    it.each(['CREATED', 'CONFIRMED', 'REJECTED'] as const)(
      'given a trip in %s (never offered to anyone), when a driver accepts, then it is forbidden',
      (status) => spec.given(history[status]).when(accept()).thenFails('FORBIDDEN'),
    );
  });

  describe('AssignDriver (internal)', () => {
    it('given a trip a driver accepted, when dispatch assigns them, then the driver is assigned', () =>
      spec.given([...dispatching, boAccepted]).when(assign()).then([boAssigned]));

    it('given a trip a driver accepted, when dispatch assigns another driver, then it is an illegal state', () =>
      spec.given([...dispatching, boAccepted]).when(assign('d2')).thenFails('ILLEGAL_STATE', /driver d2: that driver has not accepted it/));

    it.each(except('DISPATCHING'))('given a trip in %s, when dispatch assigns a driver, then it is an illegal state', (status) =>
      spec.given(history[status]).when(assign()).thenFails('ILLEGAL_STATE', illegal('assigned a driver', status)));
  });

  describe('FailDispatch (internal)', () => {
    it('given a confirmed trip, when no driver is nearby, then dispatch fails with NO_DRIVERS_AVAILABLE', () =>
      spec.given(history.CONFIRMED).when(failDispatch('NO_DRIVERS_AVAILABLE')).then([failed('NO_DRIVERS_AVAILABLE')]));

    it('given a dispatching trip, when nobody accepted in time, then dispatch fails with NO_DRIVER_ACCEPTED', () =>
      spec.given(history.DISPATCHING).when(failDispatch()).then([failed('NO_DRIVER_ACCEPTED')]));

    it('given a dispatching trip, when the reason is unknown, then it is invalid input', () =>
      spec.given(history.DISPATCHING).when(failDispatch('TOO_LATE' as DispatchFailureReason)).thenFails('INVALID_INPUT', /one of NO_DRIVERS_AVAILABLE, NO_DRIVER_ACCEPTED/));

    it.each(except('CONFIRMED', 'DISPATCHING'))('given a trip in %s, when dispatch fails, then it is an illegal state', (status) =>
      spec.given(history[status]).when(failDispatch()).thenFails('ILLEGAL_STATE', illegal('marked as failed to dispatch', status)));
  });

  describe('StartTrip and FinishTrip', () => {
    it('given an assigned trip, when the assigned driver starts it, then it is started', () =>
      spec.given(history.DRIVER_ASSIGNED).when(start()).then([started]));

    it('given an assigned trip whose cancellation was disputed, when the driver starts it, then it is started', () =>
      spec.given([...history.CANCELLATION_REQUESTED, disputed]).when(start()).then([started]));

    it('given a started trip, when the assigned driver finishes it, then it is finished', () =>
      spec.given(history.STARTED).when(finish()).then([finished]));

    it.each(except('DRIVER_ASSIGNED', ...unassigned))('given a trip in %s, when the assigned driver starts it, then it is an illegal state', (status) =>
      spec.given(history[status]).when(start()).thenFails('ILLEGAL_STATE', illegal('started', status)));

    it.each(except('STARTED', ...unassigned))('given a trip in %s, when the assigned driver finishes it, then it is an illegal state', (status) =>
      spec.given(history[status]).when(finish()).thenFails('ILLEGAL_STATE', illegal('finished', status)));

    it.each(unassigned)('given a trip in %s (no driver assigned), when a driver starts or finishes it, then it is forbidden', (status) => {
      spec.given(history[status]).when(start()).thenFails('FORBIDDEN', /Only the driver assigned/);
      spec.given(history[status]).when(finish()).thenFails('FORBIDDEN', /Only the driver assigned/);
    });

    it.each([
      ['an offered driver who was not assigned', cy],
      ['the passenger', ada],
      ['an admin', admin],
      ['the system', system],
    ])('given an assigned trip, when %s starts it, then it is forbidden', (_label, actor) =>
      spec.given(history.DRIVER_ASSIGNED).when(start(actor)).thenFails('FORBIDDEN'));

    it.each([
      ['an offered driver who was not assigned', cy],
      ['the passenger', ada],
    ])('given a started trip, when %s finishes it, then it is forbidden', (_label, actor) =>
      spec.given(history.STARTED).when(finish(actor)).thenFails('FORBIDDEN'));
  });

  describe('CancelTrip', () => {
    it.each(['CREATED', 'CONFIRMED', 'DISPATCHING'] as const)(
      'given a trip in %s (no driver yet), when the passenger cancels, then it is cancelled at once',
      (status) => spec.given(history[status]).when(cancel(ada, '  Plans changed. ')).then([cancelled('passenger')]),
    );

    it.each(['CREATED', 'CONFIRMED', 'DISPATCHING', 'DRIVER_ASSIGNED', 'CANCELLATION_REQUESTED'] as const)(
      'given a trip in %s, when an admin cancels, then it is cancelled at once',
      (status) => spec.given(history[status]).when(cancel(admin, 'Fraud.')).then([cancelled('admin', 'Fraud.')]),
    );

    it('given an assigned trip, when the passenger cancels, then a cancellation is requested of the driver', () =>
      spec.given(history.DRIVER_ASSIGNED).when(cancel(ada)).then([requestedBy('passenger')]));

    it('given an assigned trip, when the assigned driver cancels, then a cancellation is requested of the passenger', () =>
      spec.given(history.DRIVER_ASSIGNED).when(cancel(bo, 'Flat tyre.')).then([requestedBy('driver', 'Flat tyre.')]));

    it('given a trip whose cancellation was disputed, when a party asks again, then it is an illegal state pointing to an operator', () =>
      spec.given([...history.CANCELLATION_REQUESTED, disputed]).when(cancel(bo)).thenFails('ILLEGAL_STATE', /disputed .*ask an admin/));

    it('given a trip whose cancellation was disputed, when an admin cancels, then it is cancelled', () =>
      spec.given([...history.CANCELLATION_REQUESTED, disputed]).when(cancel(admin, 'Resolved.')).then([cancelled('admin', 'Resolved.')]));

    it('given a cancellation the passenger requested, when the driver cancels too, then they are told to respond instead', () =>
      spec.given(history.CANCELLATION_REQUESTED).when(cancel(bo)).thenFails('ILLEGAL_STATE', /passenger already asked to cancel; respond/));

    it('given an assigned trip, when the reason is empty, then it is invalid input', () =>
      spec.given(history.DRIVER_ASSIGNED).when(cancel(ada, '')).thenFails('INVALID_INPUT', /reason/));

    it.each([
      ['REJECTED', /was rejected/],
      ['DISPATCH_FAILED', /no driver could be found/],
      ['STARTED', /already started/],
      ['FINISHED', /already finished/],
      ['CANCELLATION_REQUESTED', /your cancellation request is awaiting the driver's answer/],
      ['CANCELLED', /already cancelled/],
    ] as const)('given a trip in %s, when the passenger cancels, then it is an illegal state that says why', (status, why) => {
      spec.given(history[status]).when(cancel(ada)).thenFails('ILLEGAL_STATE', illegal('cancelled', status));
      spec.given(history[status]).when(cancel(ada)).thenFails('ILLEGAL_STATE', why);
    });

    it.each(['REJECTED', 'DISPATCH_FAILED', 'STARTED', 'FINISHED', 'CANCELLED'] as const)(
      'given a trip in %s, when an admin cancels, then it is an illegal state',
      (status) => spec.given(history[status]).when(cancel(admin)).thenFails('ILLEGAL_STATE', illegal('cancelled', status)),
    );

    it.each(['STARTED', 'FINISHED', 'CANCELLATION_REQUESTED', 'CANCELLED'] as const)(
      'given a trip in %s, when the assigned driver cancels, then it is an illegal state',
      (status) => spec.given(history[status]).when(cancel(bo)).thenFails('ILLEGAL_STATE', illegal('cancelled', status)),
    );

    it.each(unassigned)('given a trip in %s (no driver assigned), when an offered driver cancels, then it is forbidden', (status) =>
      spec.given(history[status]).when(cancel(bo)).thenFails('FORBIDDEN'));

    it.each([
      ['an offered driver who was not assigned', cy],
      ['a driver never offered it', dan],
      ['the system', system],
    ])('given an assigned trip, when %s cancels, then it is forbidden', (_label, actor) =>
      spec.given(history.DRIVER_ASSIGNED).when(cancel(actor)).thenFails('FORBIDDEN'));
  });

  describe('RespondToCancellation', () => {
    const byDriver = [...assigned, requestedBy('driver', 'Flat tyre.')];

    it('given a cancellation the passenger requested, when the driver agrees, then the trip is cancelled by the passenger for their reason', () =>
      spec.given(history.CANCELLATION_REQUESTED).when(respond(bo, true)).then([cancelled('passenger')]));

    it('given a cancellation the driver requested, when the passenger agrees, then the trip is cancelled by the driver for their reason', () =>
      spec.given(byDriver).when(respond(ada, true)).then([cancelled('driver', 'Flat tyre.')]));

    it('given a cancellation the passenger requested, when the driver disagrees, then a resolution is required', () =>
      spec.given(history.CANCELLATION_REQUESTED).when(respond(bo, false)).then([disputed]));

    it('given a cancellation the driver requested, when the passenger disagrees, then a resolution is required', () =>
      spec.given(byDriver).when(respond(ada, false)).then([disputed]));

    it('given a cancellation the passenger requested, when the passenger answers it themself, then it is forbidden', () =>
      spec.given(history.CANCELLATION_REQUESTED).when(respond(ada, true)).thenFails('FORBIDDEN', /only the driver may respond/));

    it('given a cancellation the driver requested, when the driver answers it themself, then it is forbidden', () =>
      spec.given(byDriver).when(respond(bo, true)).thenFails('FORBIDDEN', /only the passenger may respond/));

    it.each([
      ['an admin', admin],
      ['another passenger', eve],
      ['an offered driver who was not assigned', cy],
      ['the system', system],
    ])('given a pending cancellation, when %s responds, then it is forbidden', (_label, actor) =>
      spec.given(history.CANCELLATION_REQUESTED).when(respond(actor, true)).thenFails('FORBIDDEN'));

    it('given a pending cancellation, when agree is not a boolean, then it is invalid input', () =>
      spec.given(history.CANCELLATION_REQUESTED).when(respond(bo, 'yes' as unknown as boolean)).thenFails('INVALID_INPUT', /agree/));

    it.each(except('CANCELLATION_REQUESTED'))('given a trip in %s, when the passenger responds, then it is an illegal state', (status) =>
      spec
        .given(history[status])
        .when(respond(ada, true))
        .thenFails('ILLEGAL_STATE', new RegExp(`^Trip t1 has no cancellation request to respond to: it is ${status}\\.$`)));

    it.each(except('CANCELLATION_REQUESTED', ...unassigned))('given a trip in %s, when the assigned driver responds, then it is an illegal state', (status) =>
      spec.given(history[status]).when(respond(bo, false)).thenFails('ILLEGAL_STATE', new RegExp(`it is ${status}\\.$`)));

    it('given a disputed cancellation, when the driver responds again, then it is an illegal state', () =>
      spec.given([...history.CANCELLATION_REQUESTED, disputed]).when(respond(bo, true)).thenFails('ILLEGAL_STATE', /it is DRIVER_ASSIGNED/));
  });

  describe('unknown trips', () => {
    it.each([
      ['ConfirmTrip', confirm()],
      ['RejectTrip', reject()],
      ['StartDispatch', startDispatch()],
      ['AcceptTrip', accept()],
      ['AssignDriver', assign()],
      ['FailDispatch', failDispatch()],
      ['StartTrip', start()],
      ['FinishTrip', finish()],
      ['CancelTrip', cancel()],
      ['RespondToCancellation', respond(ada, true)],
    ])('given nothing, when %s is sent, then the trip is not found', (_label, command) =>
      spec.given([]).when(command).thenFails('NOT_FOUND', /^Trip t1 does not exist\.$/));
  });

  describe('authorization comes before state', () => {
    const internal = [
      ['ConfirmTrip', confirm],
      ['RejectTrip', (actor: Actor) => reject('No.', actor)],
      ['StartDispatch', (actor: Actor) => startDispatch(['d1'], actor)],
      ['AssignDriver', (actor: Actor) => assign('d1', actor)],
      ['FailDispatch', (actor: Actor) => failDispatch('NO_DRIVER_ACCEPTED', actor)],
    ] as const;
    const people = [['passenger', ada], ['driver', bo], ['admin', admin]] as const;

    it.each(internal.flatMap(([name, make]) => people.map(([role, actor]) => [name, role, make(actor)] as const)))(
      'given a dispatching trip, when %s comes from a %s, then it is forbidden as an internal command',
      (name, _role, command) =>
        spec.given(history.DISPATCHING).when(command).thenFails('FORBIDDEN', new RegExp(`^${name} is an internal command`)),
    );

    it.each(internal)('given nothing, when %s comes from a passenger, then it is forbidden rather than not found', (_name, make) =>
      spec.given([]).when(make(ada)).thenFails('FORBIDDEN'));

    it.each(tripStatuses)('given a trip in %s, when another passenger cancels or responds, then it is forbidden', (status) => {
      spec.given(history[status]).when(cancel(eve)).thenFails('FORBIDDEN');
      spec.given(history[status]).when(respond(eve, true)).thenFails('FORBIDDEN');
    });

    it.each(tripStatuses)('given a trip in %s, when a driver never offered it acts on it, then it is forbidden', (status) => {
      for (const command of [accept(dan), start(dan), finish(dan), cancel(dan), respond(dan, true)]) {
        spec.given(history[status]).when(command).thenFails('FORBIDDEN');
      }
    });
  });

  describe('evolve', () => {
    it('folds a requested, dispatched and assigned trip into its current state', () =>
      expect(fold(tripDecider, [...assigned, { ...boAccepted, data: { ...boAccepted.data, driverId: 'd2' } }])).toEqual({
        status: 'DRIVER_ASSIGNED',
        id: 't1',
        passengerId: 'p1',
        start: tiananmen,
        end: capitalAirport,
        distanceKm: 24.965,
        fare: 72.41,
        requestedAt: '2026-11-23T10:00:00.000Z',
        candidateDriverIds: ['d1', 'd2'],
        acceptances: [
          { driverId: 'd1', position: boPosition, acceptedAt: now },
          { driverId: 'd2', position: boPosition, acceptedAt: now },
        ],
        driverId: 'd1',
        cancellationDisputed: false,
      }));

    it('keeps the request while a cancellation is pending and drops it once disputed', () => {
      const pending = fold(tripDecider, history.CANCELLATION_REQUESTED);
      expect(pending).toMatchObject({ status: 'CANCELLATION_REQUESTED', cancellationRequest: { requestedBy: 'passenger', reason: 'Plans changed.' } });
      const afterDispute = tripDecider.evolve(pending, disputed);
      expect(afterDispute).toMatchObject({ status: 'DRIVER_ASSIGNED', driverId: 'd1', cancellationDisputed: true });
      expect(afterDispute).not.toHaveProperty('cancellationRequest');
    });

    it('records why a trip was rejected or why dispatch failed', () => {
      expect(fold(tripDecider, history.REJECTED)).toMatchObject({ rejectionReason: 'Passenger is banned.' });
      expect(fold(tripDecider, history.DISPATCH_FAILED)).toMatchObject({ dispatchFailureReason: 'NO_DRIVER_ACCEPTED' });
    });

    it('ignores events for a trip it has not seen created rather than throwing', () =>
      expect(fold(tripDecider, [confirmed, started, cancelled('admin')])).toEqual({ status: 'NONE' }));
  });
});
