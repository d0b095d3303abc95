import { describe, expect, it } from 'vitest';
import { refusal } from '../testing/refusal.ts';
import { decideTripSlot, TRIP_SLOT_GRACE_MS, type HeldSlot } from './active-trip.ts';
import type { TripStatus } from './evolve.ts';

const now = '2026-11-25T10:00:00.000Z';
const request = { passengerId: 'p1', tripId: 't2', now };
const secondsBefore = (seconds: number) => new Date(Date.parse(now) - seconds * 1000).toISOString();
const held = (status: TripStatus | 'NONE', since = secondsBefore(60)): HeldSlot => ({ slot: { tripId: 't1', since }, status });


describe('One active trip per passenger (the trip slot)', () => {
  it('given a passenger who never requested a trip, when they request one, then they take the slot for it', () => {
    expect(decideTripSlot(request, null)).toEqual({ tripId: 't2', since: now });
  });

  it('given the slot names this trip and the trip is in the log (a retried request), when it is requested again, then nothing is written', () => {
    expect(decideTripSlot(request, { slot: { tripId: 't2', since: secondsBefore(1) }, status: 'CREATED' })).toBeNull();
  });

  it('given the slot names this trip but its request died before the append, when it is retried, then the slot is taken again from now', () => {
    expect(decideTripSlot(request, { slot: { tripId: 't2', since: secondsBefore(600) }, status: 'NONE' })).toEqual({ tripId: 't2', since: now });
  });

  it.each(['CREATED', 'CONFIRMED', 'DISPATCHING', 'DRIVER_ASSIGNED', 'CANCELLATION_REQUESTED', 'STARTED'] as const)(
    'given the slot names a %s trip, when another is requested, then it is an illegal state naming the active trip',
    (status) => {
      const error = refusal(() => decideTripSlot(request, held(status)));
      expect(error.kind).toBe('ILLEGAL_STATE');
      expect(error.message).toMatch(new RegExp(`active trip t1 \\(${status}\\)`));
    },
  );

  it.each(['FINISHED', 'CANCELLED', 'REJECTED', 'DISPATCH_FAILED'] as const)(
    'given the slot names a %s trip, when another is requested, then the slot is taken for the new one',
    (status) => {
      expect(decideTripSlot(request, held(status))).toEqual({ tripId: 't2', since: now });
    },
  );

  it('given a slot taken moments ago whose trip is not in the log yet, when another is requested, then it is refused (the first is in flight)', () => {
    const error = refusal(() => decideTripSlot(request, held('NONE', secondsBefore(2))));
    expect(error.kind).toBe('ILLEGAL_STATE');
    expect(error.message).toMatch(/already requesting trip t1/);
  });

  it('given a slot whose request died before its trip was appended, when the grace has passed, then the slot is taken (never blocked for good)', () => {
    const since = new Date(Date.parse(now) - TRIP_SLOT_GRACE_MS).toISOString();
    expect(decideTripSlot(request, held('NONE', since))).toEqual({ tripId: 't2', since: now });
  });
});
