import type { TripEvent } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { commandRejected, deadlineReached } from '../runtime/saga.ts';
import { sagaSpecification } from '../runtime/saga-specification.ts';
import type { CandidatesFound, DispatchCommand, DriverReserved, OfferDetails } from './dispatch-commands.ts';
import { createDispatchSaga, type DispatchInput, type DispatchRun } from './dispatch-saga.ts';

const saga = createDispatchSaga({ radiusKm: 10, checkIntervalMs: 1_000, maxChecks: 3 });
const spec = sagaSpecification(saga);
const sagaId = 'dispatch-t1';
const start = { lng: 0, lat: 0 };
/** About `km` north of the start. */
const at = (km: number) => ({ lng: 0, lat: km / 111.19508 });
const offer: OfferDetails = { tripId: 't1', passengerId: 'p1', passengerName: 'Ada', start, end: at(5), distanceKm: 5, fare: 12 };

let counter = 0;
const trip = (event: TripEvent): DispatchInput => {
  counter++;
  return { ...event, eventId: `e${counter}`, aggregateType: 'trip', aggregateId: 't1', version: counter, occurredAt: '2026-11-23T10:00:00.000Z', commandId: `c${counter}`, correlationId: 'k', causationId: `c${counter}`, schemaVersion: 1 } as EventEnvelope<'trip'> as DispatchInput;
};
const confirmed = trip({ type: 'TripConfirmed', data: { tripId: 't1' } });
const found = (driverIds: string[]): CandidatesFound => ({ type: 'CandidatesFound', sagaId, inputId: `${sagaId}:find:answer`, trip: offer, candidates: driverIds.map((driverId, k) => ({ driverId, distanceKm: k + 1 })) });
const started = (driverIds: string[]) => trip({ type: 'TripDispatchStarted', data: { tripId: 't1', candidateDriverIds: driverIds } });
const accepted = (driverId: string, km: number) => trip({ type: 'DriverAcceptedTrip', data: { tripId: 't1', driverId, position: at(km), acceptedAt: '2026-11-23T10:00:01.000Z' } });
const check = (n: number) => deadlineReached(sagaId, `check-${n}`, `2026-11-23T10:00:0${n}.000Z`);
const reserve = (driverId: string): DispatchCommand => ({ type: 'ReserveDriver', sagaId, commandId: `${sagaId}:reserve-${driverId}`, tripId: 't1', driverId });
const reserved = (driverId: string): DriverReserved => ({ type: 'DriverReserved', sagaId, inputId: `${sagaId}:reserve-${driverId}:answer`, driverId });
const refused = (driverId: string) => commandRejected<DispatchCommand>(reserve(driverId), 'ILLEGAL_STATE', `Driver ${driverId} is already on trip t9.`);
const offered = [confirmed, found(['d1', 'd2', 'd3']), started(['d1', 'd2', 'd3'])];
const run = (state: unknown) => state as DispatchRun;

describe('the dispatch saga', () => {
  it('given a confirmed trip, then it looks for candidates', () =>
    spec.given([]).when(confirmed).thenSends([{ type: 'FindCandidates', sagaId, commandId: `${sagaId}:find`, tripId: 't1' }]));

  it('given nobody near, then the dispatch fails with NO_DRIVERS_AVAILABLE and the saga ends', () => {
    const decision = spec.given([confirmed]).when(found([])).thenSends([{ type: 'FailDispatch', sagaId, commandId: `${sagaId}:fail`, tripId: 't1', reason: 'NO_DRIVERS_AVAILABLE' }]);
    expect(decision.ended).toBe(true);
  });

  it('given candidates, then dispatch starts with them; once recorded, offers go out and the first check is armed', () => {
    spec.given([confirmed]).when(found(['d1', 'd2'])).thenSends([{ type: 'StartDispatch', sagaId, commandId: `${sagaId}:start`, tripId: 't1', candidateDriverIds: ['d1', 'd2'] }]);
    const decision = spec.given([confirmed, found(['d1', 'd2'])]).when(started(['d1', 'd2'])).thenSends([
      { type: 'PublishOffers', sagaId, commandId: `${sagaId}:publish-offers`, offer, driverIds: ['d1', 'd2'], expiresInMs: 3_000 },
    ]);
    expect(decision.schedule).toEqual([{ name: 'check-1', afterMs: 1_000 }]);
  });

  it('given several acceptances, when the check comes, then the nearest within the radius is reserved first', () =>
    spec.given([...offered, accepted('d1', 4), accepted('d2', 11), accepted('d3', 2)]).when(check(1)).thenSends([reserve('d3')]));

  it('given the reservation went through, then the driver is assigned; once recorded, the others are told the trip is taken', () => {
    const given = [...offered, accepted('d1', 4), accepted('d3', 2), check(1)];
    spec.given(given).when(reserved('d3')).thenSends([{ type: 'AssignDriver', sagaId, commandId: `${sagaId}:assign`, tripId: 't1', driverId: 'd3' }]);
    spec
      .given([...given, reserved('d3')])
      .when(trip({ type: 'TripDriverAssigned', data: { tripId: 't1', driverId: 'd3' } }))
      .thenSends([{ type: 'CloseOffers', sagaId, commandId: `${sagaId}:close-offers`, tripId: 't1', driverIds: ['d1', 'd2', 'd3'], status: 'TAKEN', assignedDriverId: 'd3' }]);
  });

  it('given the nearest driver is taken by another trip, when their reservation is refused, then the next nearest accepting one is reserved', () =>
    spec.given([...offered, accepted('d1', 4), accepted('d3', 2), check(1)]).when(refused('d3')).thenSends([reserve('d1')]));

  it('given every accepting driver refused before the last check, then the next check is armed', () => {
    const decision = spec.given([...offered, accepted('d3', 2), check(1)]).when(refused('d3')).thenSendsNothing();
    expect(decision.schedule).toEqual([{ name: 'check-2', afterMs: 1_000 }]);
  });

  it('given nobody accepted, when checks come, then it checks again, and after the last one fails with NO_DRIVER_ACCEPTED', () => {
    expect(spec.given(offered).when(check(1)).thenSendsNothing().schedule).toEqual([{ name: 'check-2', afterMs: 1_000 }]);
    const decision = spec.given([...offered, check(1), check(2)]).when(check(3)).thenSends([
      { type: 'FailDispatch', sagaId, commandId: `${sagaId}:fail`, tripId: 't1', reason: 'NO_DRIVER_ACCEPTED' },
      { type: 'CloseOffers', sagaId, commandId: `${sagaId}:close-offers`, tripId: 't1', driverIds: ['d1', 'd2', 'd3'], status: 'EXPIRED' },
    ]);
    expect(decision.ended).toBe(true);
  });

  it('given only acceptances beyond the radius, when the last check comes, then it fails', () =>
    spec.given([...offered, accepted('d1', 12), check(1), check(2)]).when(check(3)).thenSends([
      { type: 'FailDispatch', sagaId, commandId: `${sagaId}:fail`, tripId: 't1', reason: 'NO_DRIVER_ACCEPTED' },
      { type: 'CloseOffers', sagaId, commandId: `${sagaId}:close-offers`, tripId: 't1', driverIds: ['d1', 'd2', 'd3'], status: 'EXPIRED' },
    ]));

  it('given an open dispatch, when the trip is cancelled, then the check is cancelled, the offers close and the saga ends', () => {
    const decision = spec.given(offered).when(trip({ type: 'TripCancelled', data: { tripId: 't1', reason: 'x', cancelledBy: 'passenger' } })).thenSends([
      { type: 'CloseOffers', sagaId, commandId: `${sagaId}:close-offers`, tripId: 't1', driverIds: ['d1', 'd2', 'd3'], status: 'CANCELLED' },
    ]);
    expect(decision.cancelDeadlines).toEqual(['check-1']);
    expect(decision.ended).toBe(true);
  });

  it('given a driver being reserved, when the trip is cancelled, then the driver is released', () =>
    spec.given([...offered, accepted('d1', 1), check(1)]).when(trip({ type: 'TripCancelled', data: { tripId: 't1', reason: 'x', cancelledBy: 'passenger' } })).thenSends([
      { type: 'CloseOffers', sagaId, commandId: `${sagaId}:close-offers`, tripId: 't1', driverIds: ['d1', 'd2', 'd3'], status: 'CANCELLED' },
      { type: 'ReleaseDriver', sagaId, commandId: `${sagaId}:release-d1`, tripId: 't1', driverId: 'd1' },
    ]));

  it('given the assignment refused (the trip was cancelled meanwhile), then the reserved driver is released', () => {
    const given = [...offered, accepted('d1', 1), check(1), reserved('d1')];
    const assign: DispatchCommand = { type: 'AssignDriver', sagaId, commandId: `${sagaId}:assign`, tripId: 't1', driverId: 'd1' };
    spec.given(given).when(commandRejected<DispatchCommand>(assign, 'ILLEGAL_STATE', 'cancelled')).thenSends([
      { type: 'CloseOffers', sagaId, commandId: `${sagaId}:close-offers`, tripId: 't1', driverIds: ['d1', 'd2', 'd3'], status: 'CANCELLED' },
      { type: 'ReleaseDriver', sagaId, commandId: `${sagaId}:release-d1`, tripId: 't1', driverId: 'd1' },
    ]);
  });

  it('given an assigned trip, when it finishes, then the driver is released and the saga ends', () => {
    const given = [...offered, accepted('d1', 1), check(1), reserved('d1'), trip({ type: 'TripDriverAssigned', data: { tripId: 't1', driverId: 'd1' } })];
    expect(run(spec.given(given).state).status).toBe('ASSIGNED');
    const decision = spec.given(given).when(trip({ type: 'TripFinished', data: { tripId: 't1', finishedAt: 'x' } })).thenSends([
      { type: 'ReleaseDriver', sagaId, commandId: `${sagaId}:release-d1`, tripId: 't1', driverId: 'd1' },
    ]);
    expect(decision.ended).toBe(true);
  });

  it('given a check that is not the one armed (a repeat), then nothing happens', () =>
    spec.given([...offered, accepted('d1', 1), check(1)]).when(check(1)).thenSendsNothing());
});
