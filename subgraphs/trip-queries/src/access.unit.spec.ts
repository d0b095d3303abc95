import { DomainError } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { visibleTrip } from './access.ts';

const trip = { passengerId: 'p1', driverId: 'd1' };
const refusal = (read: () => unknown) => {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return { kind: (error as DomainError).kind, message: (error as Error).message };
  }
  throw new Error('expected a refusal');
};

describe('trip(id) visibility: unknown and forbidden answer the same', () => {
  it('given the passenger, the assigned driver or an admin, then the trip', () => {
    for (const actor of [{ id: 'p1', role: 'passenger' }, { id: 'd1', role: 'driver' }, { id: 'ops', role: 'admin' }] as const) {
      expect(visibleTrip(actor, 't1', trip)).toBe(trip);
    }
  });

  it.each([
    ['another passenger', { id: 'p2', role: 'passenger' } as const],
    ['another driver', { id: 'd2', role: 'driver' } as const],
  ])('given %s, then an existing trip and an unknown one are refused with the same code and message', (_who, actor) => {
    const existing = refusal(() => visibleTrip(actor, 't1', trip));
    const unknown = refusal(() => visibleTrip(actor, 't1', null));
    expect(existing).toEqual(unknown);
    expect(existing.kind).toBe('FORBIDDEN');
  });

  it('given an admin and an unknown trip, then NOT_FOUND (an admin may see every trip: nothing to hide)', () => {
    expect(refusal(() => visibleTrip({ id: 'ops', role: 'admin' }, 't9', null)).kind).toBe('NOT_FOUND');
  });
});
