import type { EventEnvelope } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { evolvePassengerView } from './passenger-view.ts';

const envelope = (event: Pick<EventEnvelope<'passenger'>, 'type' | 'data'>, version: number, occurredAt: string) =>
  ({
    ...event,
    eventId: `e${version}`,
    aggregateType: 'passenger',
    aggregateId: 'p1',
    version,
    occurredAt,
    commandId: `c${version}`,
    correlationId: 'x',
    causationId: `c${version}`,
    schemaVersion: 1,
  }) as EventEnvelope<'passenger'>;

const fold = (events: EventEnvelope<'passenger'>[]) => events.reduce(evolvePassengerView, null);

describe('passenger view', () => {
  it('given a registration, then the profile has the name and is not banned', () => {
    expect(fold([envelope({ type: 'PassengerRegistered', data: { passengerId: 'p1', name: 'Ada' } }, 1, 't1')])).toEqual({
      name: 'Ada',
      banned: false,
      registeredAt: 't1',
      updatedAt: 't1',
    });
  });

  it('given a registration, a rename and a ban, then the profile shows the new name, banned, last updated at the ban', () => {
    expect(
      fold([
        envelope({ type: 'PassengerRegistered', data: { passengerId: 'p1', name: 'Ada' } }, 1, 't1'),
        envelope({ type: 'PassengerDetailsUpdated', data: { passengerId: 'p1', name: 'Ada L.' } }, 2, 't2'),
        envelope({ type: 'PassengerBanned', data: { passengerId: 'p1' } }, 3, 't3'),
      ]),
    ).toEqual({ name: 'Ada L.', banned: true, registeredAt: 't1', updatedAt: 't3' });
  });

  it('given a ban then an unban, then the profile is not banned', () => {
    expect(
      fold([
        envelope({ type: 'PassengerRegistered', data: { passengerId: 'p1', name: 'Ada' } }, 1, 't1'),
        envelope({ type: 'PassengerBanned', data: { passengerId: 'p1' } }, 2, 't2'),
        envelope({ type: 'PassengerUnbanned', data: { passengerId: 'p1' } }, 3, 't3'),
      ])?.banned,
    ).toBe(false);
  });
});
