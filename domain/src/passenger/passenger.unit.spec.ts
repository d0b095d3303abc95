import { describe, it } from 'vitest';
import type { Actor, CommandMetadata } from '../decider.ts';
import { deciderSpecification } from '../testing/decider-specification.ts';
import { passengerDecider, type PassengerEvent } from './index.ts';

const spec = deciderSpecification(passengerDecider);
const ada: Actor = { id: 'p1', role: 'passenger' };
const admin: Actor = { id: 'ops', role: 'admin' };
const meta = (actor: Actor): CommandMetadata => ({ commandId: 'c1', actor, now: '2026-11-23T10:00:00.000Z' });

const registered: PassengerEvent = { type: 'PassengerRegistered', data: { passengerId: 'p1', name: 'Ada' } };
const banned: PassengerEvent = { type: 'PassengerBanned', data: { passengerId: 'p1' } };

describe('Passenger decider', () => {
  describe('RegisterPassenger', () => {
    it('given nothing, when the passenger registers, then they are registered with a trimmed name', () =>
      spec
        .given([])
        .when({ type: 'RegisterPassenger', data: { passengerId: 'p1', name: '  Ada ' }, metadata: meta(ada) })
        .then([registered]));

    it('given a registered passenger, when they register again, then it is an illegal state', () =>
      spec
        .given([registered])
        .when({ type: 'RegisterPassenger', data: { passengerId: 'p1', name: 'Ada' }, metadata: meta(ada) })
        .thenFails('ILLEGAL_STATE', /already registered/));

    it('given nothing, when someone registers another id, then it is forbidden', () =>
      spec
        .given([])
        .when({ type: 'RegisterPassenger', data: { passengerId: 'p2', name: 'Eve' }, metadata: meta(ada) })
        .thenFails('FORBIDDEN'));

    it('given nothing, when a driver registers as a passenger, then it is forbidden', () =>
      spec
        .given([])
        .when({ type: 'RegisterPassenger', data: { passengerId: 'p1', name: 'Ada' }, metadata: meta({ id: 'p1', role: 'driver' }) })
        .thenFails('FORBIDDEN'));

    it.each([
      ['empty', '   ', /must not be empty/],
      ['over-long', 'x'.repeat(101), /at most 100/],
      ['control characters', 'Ada\nLovelace', /control characters/],
    ])('given nothing, when the name is %s, then it is invalid input', (_label, name, message) =>
      spec
        .given([])
        .when({ type: 'RegisterPassenger', data: { passengerId: 'p1', name }, metadata: meta(ada) })
        .thenFails('INVALID_INPUT', message));

    it('given nothing, when the id is not subject-safe, then it is invalid input', () =>
      spec
        .given([])
        .when({ type: 'RegisterPassenger', data: { passengerId: 'a.b', name: 'Ada' }, metadata: meta({ id: 'a.b', role: 'passenger' }) })
        .thenFails('INVALID_INPUT', /passengerId/));
  });

  describe('UpdatePassengerDetails', () => {
    it('given a registered passenger, when they rename themself, then the details are updated', () =>
      spec
        .given([registered])
        .when({ type: 'UpdatePassengerDetails', data: { passengerId: 'p1', name: 'Ada L.' }, metadata: meta(ada) })
        .then([{ type: 'PassengerDetailsUpdated', data: { passengerId: 'p1', name: 'Ada L.' } }]));

    it('given a registered passenger, when an admin renames them, then the details are updated', () =>
      spec
        .given([registered])
        .when({ type: 'UpdatePassengerDetails', data: { passengerId: 'p1', name: 'Ada B.' }, metadata: meta(admin) })
        .then([{ type: 'PassengerDetailsUpdated', data: { passengerId: 'p1', name: 'Ada B.' } }]));

    it('given a registered passenger, when the name is unchanged, then nothing happens', () =>
      spec
        .given([registered])
        .when({ type: 'UpdatePassengerDetails', data: { passengerId: 'p1', name: 'Ada' }, metadata: meta(ada) })
        .thenNothingHappens());

    it('given nothing, when a passenger renames themself, then they are not found', () =>
      spec
        .given([])
        .when({ type: 'UpdatePassengerDetails', data: { passengerId: 'p1', name: 'Ada' }, metadata: meta(ada) })
        .thenFails('NOT_FOUND'));

    it("given a registered passenger, when another passenger renames them, then it is forbidden", () =>
      spec
        .given([registered])
        .when({ type: 'UpdatePassengerDetails', data: { passengerId: 'p1', name: 'Mallory' }, metadata: meta({ id: 'p2', role: 'passenger' }) })
        .thenFails('FORBIDDEN'));
  });

  describe('BanPassenger and UnbanPassenger', () => {
    it('given a registered passenger, when an admin bans them, then they are banned', () =>
      spec
        .given([registered])
        .when({ type: 'BanPassenger', data: { passengerId: 'p1' }, metadata: meta(admin) })
        .then([banned]));

    it('given a banned passenger, when an admin bans them again, then it is an illegal state', () =>
      spec
        .given([registered, banned])
        .when({ type: 'BanPassenger', data: { passengerId: 'p1' }, metadata: meta(admin) })
        .thenFails('ILLEGAL_STATE', /already banned/));

    it('given a banned passenger, when an admin unbans them, then they are unbanned', () =>
      spec
        .given([registered, banned])
        .when({ type: 'UnbanPassenger', data: { passengerId: 'p1' }, metadata: meta(admin) })
        .then([{ type: 'PassengerUnbanned', data: { passengerId: 'p1' } }]));

    it('given a passenger who is not banned, when an admin unbans them, then it is an illegal state', () =>
      spec
        .given([registered])
        .when({ type: 'UnbanPassenger', data: { passengerId: 'p1' }, metadata: meta(admin) })
        .thenFails('ILLEGAL_STATE', /not banned/));

    it('given a registered passenger, when a passenger tries to ban, then it is forbidden', () =>
      spec
        .given([registered])
        .when({ type: 'BanPassenger', data: { passengerId: 'p1' }, metadata: meta(ada) })
        .thenFails('FORBIDDEN'));

    it('given nothing, when an admin bans an unknown passenger, then it is not found', () =>
      spec
        .given([])
        .when({ type: 'BanPassenger', data: { passengerId: 'p9' }, metadata: meta(admin) })
        .thenFails('NOT_FOUND'));
  });
});
