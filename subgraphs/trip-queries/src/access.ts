import { forbidden, notFound, type Actor, type TripStatus } from '@happyride/domain';

export interface TripParties {
  passengerId: string;
  driverId: string | null;
}

/** A trip is visible to its passenger, its assigned driver and admins. */
export function mayReadTrip(actor: Actor, trip: TripParties): boolean {
  return (
    actor.role === 'admin' ||
    (actor.role === 'passenger' && actor.id === trip.passengerId) ||
    (actor.role === 'driver' && actor.id === trip.driverId)
  );
}

/**
 * `trip(id)`: the trip, or, for a caller who may not see it, the SAME refusal whether it
 * exists or not (so its existence does not leak); only admins, who may see every trip, learn
 * that one does not exist.
 */
export function visibleTrip<T extends TripParties>(actor: Actor, id: string, trip: T | null): T {
  if (trip && mayReadTrip(actor, trip)) return trip;
  if (actor.role === 'admin' || actor.role === 'system') throw notFound(`Trip ${id} does not exist (or is not projected yet).`);
  throw forbidden(`Trip ${id} is not visible to you: a trip is visible to its passenger, its assigned driver and admins (or it does not exist yet).`);
}

export interface TripFilter {
  passengerId?: string;
  driverId?: string;
  state?: TripStatus;
}

/**
 * The filter `trips(...)` may run for this caller: admins any; a passenger only their own
 * trips (passengerId defaults to theirs), a driver likewise; anyone else's → FORBIDDEN.
 */
export function scopeTripFilter(actor: Actor, requested: TripFilter): TripFilter {
  switch (actor.role) {
    case 'admin':
    case 'system':
      return requested;
    case 'passenger':
      if (requested.passengerId !== undefined && requested.passengerId !== actor.id) {
        throw forbidden("A passenger may list only their own trips: leave passengerId out or pass your own id.");
      }
      return { ...requested, passengerId: actor.id };
    case 'driver':
      if (requested.driverId !== undefined && requested.driverId !== actor.id) {
        throw forbidden("A driver may list only their own trips: leave driverId out or pass your own id.");
      }
      return { ...requested, driverId: actor.id };
  }
}

/** `myTrips`: a passenger's trips, a driver's trips; an admin has none of their own. */
export function myTripsFilter(actor: Actor, state: TripStatus | undefined): TripFilter | null {
  const withState = state ? { state } : {};
  if (actor.role === 'passenger') return { passengerId: actor.id, ...withState };
  if (actor.role === 'driver') return { driverId: actor.id, ...withState };
  return null;
}
