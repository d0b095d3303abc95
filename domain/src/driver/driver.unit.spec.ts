import { describe, expect, it } from 'vitest';
import type { Actor, CommandMetadata } from '../decider.ts';
import { DomainError } from '../errors.ts';
import { deciderSpecification } from '../testing/decider-specification.ts';
import { driverDecider, validDriverLocation, type DriverCommand, type DriverEvent } from './index.ts';

const spec = deciderSpecification(driverDecider);
const bo: Actor = { id: 'd1', role: 'driver' };
const otherDriver: Actor = { id: 'd2', role: 'driver' };
const admin: Actor = { id: 'ops', role: 'admin' };
const meta = (actor: Actor): CommandMetadata => ({ commandId: 'c1', actor, now: '2026-11-23T10:00:00.000Z' });

const vehicle = { plate: 'JING-A 12345', model: 'BYD Qin' };
const registered: DriverEvent = { type: 'DriverRegistered', data: { driverId: 'd1', name: 'Bo', vehicle } };
const wentOnline: DriverEvent = { type: 'DriverWentOnline', data: { driverId: 'd1' } };
const wentOffline: DriverEvent = { type: 'DriverWentOffline', data: { driverId: 'd1' } };

const register = (data: Partial<Extract<DriverCommand, { type: 'RegisterDriver' }>['data']> = {}, actor = bo): DriverCommand => ({
  type: 'RegisterDriver',
  data: { driverId: 'd1', name: 'Bo', vehicle, ...data },
  metadata: meta(actor),
});
const update = (data: { name?: string; vehicle?: { plate: string; model: string } }, actor = bo): DriverCommand => ({
  type: 'UpdateDriverDetails',
  data: { driverId: 'd1', ...data },
  metadata: meta(actor),
});
const goOnline = (actor = bo): DriverCommand => ({ type: 'GoOnline', data: { driverId: 'd1' }, metadata: meta(actor) });
const goOffline = (actor = bo): DriverCommand => ({ type: 'GoOffline', data: { driverId: 'd1' }, metadata: meta(actor) });

describe('Driver decider', () => {
  describe('RegisterDriver', () => {
    it('given nothing, when the driver registers, then they are registered with a trimmed name and an upper-cased plate', () =>
      spec
        .given([])
        .when(register({ name: '  Bo ', vehicle: { plate: ' jing-a 12345 ', model: ' BYD Qin ' } }))
        .then([registered]));

    it('given nothing, when the plate has non-Latin letters, then they are kept', () =>
      spec
        .given([])
        .when(register({ vehicle: { plate: '京a 12345', model: 'BYD Qin' } }))
        .then([{ type: 'DriverRegistered', data: { driverId: 'd1', name: 'Bo', vehicle: { plate: '京A 12345', model: 'BYD Qin' } } }]));

    it('given a registered driver, when they register again, then it is an illegal state', () =>
      spec.given([registered]).when(register()).thenFails('ILLEGAL_STATE', /already registered/));

    it('given nothing, when a driver registers another id, then it is forbidden', () =>
      spec.given([]).when(register({}, otherDriver)).thenFails('FORBIDDEN'));

    it('given nothing, when a passenger registers as a driver, then it is forbidden', () =>
      spec.given([]).when(register({}, { id: 'd1', role: 'passenger' })).thenFails('FORBIDDEN'));

    it('given nothing, when an admin registers a driver, then it is forbidden', () =>
      spec.given([]).when(register({}, { id: 'd1', role: 'admin' })).thenFails('FORBIDDEN'));

    it.each([
      ['an empty name', { name: '  ' }, /name must not be empty/],
      ['a name with a newline', { name: 'Bo\nLi' }, /name must not contain control characters/],
      ['an empty plate', { vehicle: { plate: '  ', model: 'BYD Qin' } }, /vehicle\.plate must be 1 to 20/],
      ['a 21-character plate', { vehicle: { plate: 'A'.repeat(21), model: 'BYD Qin' } }, /vehicle\.plate must be 1 to 20/],
      ['a plate with punctuation', { vehicle: { plate: 'AB*123', model: 'BYD Qin' } }, /vehicle\.plate/],
      ['an empty model', { vehicle: { plate: 'AB 123', model: '' } }, /vehicle\.model must not be empty/],
      ['an over-long model', { vehicle: { plate: 'AB 123', model: 'x'.repeat(101) } }, /vehicle\.model must be at most 100/],
    ])('given nothing, when registering with %s, then it is invalid input', (_label, data, message) =>
      spec.given([]).when(register(data)).thenFails('INVALID_INPUT', message));

    it('given nothing, when the id is not subject-safe, then it is invalid input', () =>
      spec
        .given([])
        .when(register({ driverId: 'd.1' }, { id: 'd.1', role: 'driver' }))
        .thenFails('INVALID_INPUT', /driverId/));
  });

  describe('UpdateDriverDetails', () => {
    it('given a registered driver, when they rename themself, then the new name is recorded with the current vehicle', () =>
      spec
        .given([registered])
        .when(update({ name: 'Bo Li' }))
        .then([{ type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Bo Li', vehicle } }]));

    it('given a registered driver, when they change vehicle, then the new vehicle is recorded with the current name', () =>
      spec
        .given([registered])
        .when(update({ vehicle: { plate: 'hu-b 999', model: 'Tesla Model 3' } }))
        .then([{ type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Bo', vehicle: { plate: 'HU-B 999', model: 'Tesla Model 3' } } }]));

    it('given a renamed driver, when they change only the vehicle, then the latest name is kept', () =>
      spec
        .given([registered, { type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Bo Li', vehicle } }])
        .when(update({ vehicle: { plate: 'X 1', model: 'Model Y' } }))
        .then([{ type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Bo Li', vehicle: { plate: 'X 1', model: 'Model Y' } } }]));

    it('given a registered driver, when an admin updates them, then the details are updated', () =>
      spec
        .given([registered])
        .when(update({ name: 'Bo Li' }, admin))
        .then([{ type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Bo Li', vehicle } }]));

    it.each([
      ['the same name', { name: ' Bo ' }],
      ['the same vehicle, spelled differently', { vehicle: { plate: 'jing-a 12345', model: 'BYD Qin ' } }],
      ['the same name and vehicle', { name: 'Bo', vehicle }],
    ])('given a registered driver, when updating with %s, then nothing happens', (_label, data) =>
      spec.given([registered]).when(update(data)).thenNothingHappens());

    it('given a registered driver, when neither name nor vehicle is given, then it is invalid input', () =>
      spec.given([registered]).when(update({})).thenFails('INVALID_INPUT', /at least one of name or vehicle/));

    it('given a registered driver, when the new plate is invalid, then it is invalid input', () =>
      spec.given([registered]).when(update({ vehicle: { plate: '#', model: 'X' } })).thenFails('INVALID_INPUT', /vehicle\.plate/));

    it('given nothing, when a driver updates themself, then they are not found', () =>
      spec.given([]).when(update({ name: 'Bo' })).thenFails('NOT_FOUND', /d1 is not registered/));

    it('given a registered driver, when another driver updates them, then it is forbidden', () =>
      spec.given([registered]).when(update({ name: 'Mallory' }, otherDriver)).thenFails('FORBIDDEN'));

    it('given a registered driver, when a passenger with the same id updates them, then it is forbidden', () =>
      spec.given([registered]).when(update({ name: 'Mallory' }, { id: 'd1', role: 'passenger' })).thenFails('FORBIDDEN'));
  });

  describe('GoOnline and GoOffline', () => {
    it('given an offline driver, when they go online, then they are online', () =>
      spec.given([registered]).when(goOnline()).then([wentOnline]));

    it('given an online driver, when they go online again, then it is an illegal state', () =>
      spec.given([registered, wentOnline]).when(goOnline()).thenFails('ILLEGAL_STATE', /already online/));

    it('given an online driver, when they go offline, then they are offline', () =>
      spec.given([registered, wentOnline]).when(goOffline()).then([wentOffline]));

    it('given an online driver, when an admin takes them offline, then they are offline', () =>
      spec.given([registered, wentOnline]).when(goOffline(admin)).then([wentOffline]));

    it('given a driver who went online then offline, when they go offline again, then it is an illegal state', () =>
      spec.given([registered, wentOnline, wentOffline]).when(goOffline()).thenFails('ILLEGAL_STATE', /already offline/));

    it('given a newly registered driver, when they go offline, then it is an illegal state', () =>
      spec.given([registered]).when(goOffline()).thenFails('ILLEGAL_STATE', /already offline/));

    it('given an offline driver, when an admin puts them online, then it is forbidden', () =>
      spec.given([registered]).when(goOnline(admin)).thenFails('FORBIDDEN'));

    it.each([
      ['GoOnline', goOnline(otherDriver)],
      ['GoOffline', goOffline(otherDriver)],
    ])('given an online driver, when another driver sends %s for them, then it is forbidden', (_label, command) =>
      spec.given([registered, wentOnline]).when(command).thenFails('FORBIDDEN'));

    it.each([
      ['GoOnline', goOnline()],
      ['GoOffline', goOffline()],
    ])('given nothing, when an unregistered driver sends %s, then they are not found', (_label, command) =>
      spec.given([]).when(command).thenFails('NOT_FOUND'));
  });

  describe('ReserveDriverForTrip and ReleaseDriverFromTrip (dispatch)', () => {
    const system: Actor = { id: 'system', role: 'system' };
    const reserve = (tripId: string, actor = system): DriverCommand => ({ type: 'ReserveDriverForTrip', data: { driverId: 'd1', tripId }, metadata: meta(actor) });
    const release = (tripId: string, actor = system): DriverCommand => ({ type: 'ReleaseDriverFromTrip', data: { driverId: 'd1', tripId }, metadata: meta(actor) });
    const reserved = (tripId: string): DriverEvent => ({ type: 'DriverReservedForTrip', data: { driverId: 'd1', tripId } });
    const released = (tripId: string): DriverEvent => ({ type: 'DriverReleasedFromTrip', data: { driverId: 'd1', tripId } });

    it('given a free online driver, when dispatch reserves them for a trip, then they are reserved', () =>
      spec.given([registered, wentOnline]).when(reserve('t1')).then([reserved('t1')]));
    it('given a driver reserved for a trip, when another trip reserves them, then it is an illegal state naming the first trip', () =>
      spec.given([registered, wentOnline, reserved('t1')]).when(reserve('t2')).thenFails('ILLEGAL_STATE', /already on trip t1/));
    it('given a driver reserved for a trip, when the same trip reserves them again, then nothing happens', () =>
      spec.given([registered, wentOnline, reserved('t1')]).when(reserve('t1')).thenNothingHappens());
    it('given an offline driver, when dispatch reserves them, then it is an illegal state', () =>
      spec.given([registered]).when(reserve('t1')).thenFails('ILLEGAL_STATE', /offline/));
    it('given an unknown driver, when dispatch reserves them, then they are not found', () =>
      spec.given([]).when(reserve('t1')).thenFails('NOT_FOUND'));
    it('given a free driver, when the driver themself sends the reservation, then it is forbidden', () =>
      spec.given([registered, wentOnline]).when(reserve('t1', bo)).thenFails('FORBIDDEN'));
    it('given a reserved driver, when their trip releases them, then they are released', () =>
      spec.given([registered, wentOnline, reserved('t1')]).when(release('t1')).then([released('t1')]));
    it('given a driver released from a trip, when another trip reserves them, then they are reserved', () =>
      spec.given([registered, wentOnline, reserved('t1'), released('t1')]).when(reserve('t2')).then([reserved('t2')]));
    it('given a driver reserved for t1, when t2 releases them, then nothing happens (t2 never had them)', () =>
      spec.given([registered, wentOnline, reserved('t1')]).when(release('t2')).thenNothingHappens());
    it('given a free driver, when a trip releases them again, then nothing happens', () =>
      spec.given([registered, wentOnline, reserved('t1'), released('t1')]).when(release('t1')).thenNothingHappens());
    it('given a reserved driver, when an admin sends the release, then it is forbidden', () =>
      spec.given([registered, wentOnline, reserved('t1')]).when(release('t1', admin)).thenFails('FORBIDDEN'));
  });


  describe('evolve', () => {
    it('folds registration, a detail update and going online into the current driver', () => {
      const renamed: DriverEvent = { type: 'DriverDetailsUpdated', data: { driverId: 'd1', name: 'Bo Li', vehicle } };
      const state = [registered, renamed, wentOnline].reduce(driverDecider.evolve, driverDecider.initialState());
      expect(state).toEqual({ status: 'registered', id: 'd1', name: 'Bo Li', vehicle, online: true });
    });

    it('ignores events for a driver it has not seen registered rather than throwing', () =>
      expect(driverDecider.evolve(driverDecider.initialState(), wentOnline)).toEqual({ status: 'unregistered' }));
  });
});

describe('validDriverLocation', () => {
  const at = '2026-11-23T10:00:05.250Z';

  it('returns the driver location with a fresh position', () =>
    expect(validDriverLocation('d1', { lng: 116.4, lat: 39.9, extra: true } as never, at)).toStrictEqual({
      driverId: 'd1',
      position: { lng: 116.4, lat: 39.9 },
      at,
    }));

  it.each([
    ['lng NaN', 'd1', { lng: Number.NaN, lat: 0 }, at, /location\.lng/],
    ['lat Infinity', 'd1', { lng: 0, lat: Number.POSITIVE_INFINITY }, at, /location\.lat/],
    ['lng 181', 'd1', { lng: 181, lat: 0 }, at, /location\.lng .*-180 and 180/],
    ['lat -91', 'd1', { lng: 0, lat: -91 }, at, /location\.lat .*-90 and 90/],
    ['an unsafe driver id', 'd>1', { lng: 0, lat: 0 }, at, /driverId/],
    ['a date without time', 'd1', { lng: 0, lat: 0 }, '2026-11-23', /at must be an ISO-8601 instant/],
    ['an impossible instant', 'd1', { lng: 0, lat: 0 }, '2026-13-45T99:00:00Z', /at must be an ISO-8601 instant/],
  ])('refuses %s as invalid input', (_label, driverId, raw, instant, message) => {
    let caught: unknown;
    try {
      validDriverLocation(driverId, raw, instant);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).kind).toBe('INVALID_INPUT');
    expect((caught as DomainError).message).toMatch(message);
  });
});
