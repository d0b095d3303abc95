import { describe, expect, it } from 'vitest';
import { mayReadTrip, myTripsFilter, scopeTripFilter } from './access.ts';
import { afterCursor, decodeCursor, encodeCursor, pageSize } from './pagination.ts';

const ada = { id: 'p1', role: 'passenger' } as const;
const bob = { id: 'd1', role: 'driver' } as const;
const admin = { id: 'ops', role: 'admin' } as const;

describe('cursors', () => {
  it('given a cursor, when encoded and decoded, then it round-trips', () => {
    const cursor = { createdAt: '2026-11-23T10:00:00.000Z', id: 't-1' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each(['', 'not-base64!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1,2]').toString('base64url'), Buffer.from('["2026-11-23 10:00","t-1"]').toString('base64url'), Buffer.from('["2026-11-23T10:00:00.000Z","t 1"]').toString('base64url')])(
    'given the foreign cursor %j, when decoded, then it is invalid input',
    (raw) => expect(() => decodeCursor(raw)).toThrow(/not a cursor/),
  );

  it('given a cursor, then "after" means older, or as old with a smaller id', () => {
    expect(afterCursor({ createdAt: 'T', id: 'x' })).toEqual({ createdAt: { $lte: 'T' }, $or: [{ createdAt: { $lt: 'T' } }, { createdAt: 'T', _id: { $lt: 'x' } }] });
  });

  it.each([[undefined, 20], [null, 20], [1, 1], [100, 100]])('given first=%j, then the page size is %i', (first, size) =>
    expect(pageSize(first)).toBe(size),
  );
  it.each([0, -1, 101, 2.5])('given first=%j, then it is invalid input', (first) => expect(() => pageSize(first)).toThrow(/from 1 to 100/));
});

describe('who may read trips', () => {
  const trip = { passengerId: 'p1', driverId: 'd1' };
  it.each([
    [ada, true],
    [bob, true],
    [admin, true],
    [{ id: 'p2', role: 'passenger' } as const, false],
    [{ id: 'd2', role: 'driver' } as const, false],
    [{ id: 'p1', role: 'driver' } as const, false],
  ])('given %o, when reading trip p1/d1, then allowed is %s', (actor, allowed) => expect(mayReadTrip(actor, trip)).toBe(allowed));

  it('given a trip with no driver yet, then no driver may read it', () =>
    expect(mayReadTrip(bob, { passengerId: 'p1', driverId: null })).toBe(false));

  it('given a passenger, when listing trips without a passenger id, then it is scoped to them', () =>
    expect(scopeTripFilter(ada, { state: 'FINISHED' })).toEqual({ state: 'FINISHED', passengerId: 'p1' }));

  it("given a passenger, when listing another passenger's trips, then it is forbidden", () =>
    expect(() => scopeTripFilter(ada, { passengerId: 'p2' })).toThrow(/only their own/));

  it("given a driver, when listing another driver's trips, then it is forbidden", () =>
    expect(() => scopeTripFilter(bob, { driverId: 'd2' })).toThrow(/only their own/));

  it('given an admin, when listing any filter, then it is kept as asked', () =>
    expect(scopeTripFilter(admin, { passengerId: 'p9', driverId: 'd9' })).toEqual({ passengerId: 'p9', driverId: 'd9' }));

  it('given each role, then myTrips means their own trips (none for an admin)', () => {
    expect(myTripsFilter(ada, undefined)).toEqual({ passengerId: 'p1' });
    expect(myTripsFilter(bob, 'STARTED')).toEqual({ driverId: 'd1', state: 'STARTED' });
    expect(myTripsFilter(admin, undefined)).toBeNull();
  });
});
