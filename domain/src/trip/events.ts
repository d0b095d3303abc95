import type { Position } from '../geo.ts';

/** Why dispatch gave up: nobody was near enough, or nobody near enough accepted in time. */
export type DispatchFailureReason = 'NO_DRIVERS_AVAILABLE' | 'NO_DRIVER_ACCEPTED';
export const dispatchFailureReasons = ['NO_DRIVERS_AVAILABLE', 'NO_DRIVER_ACCEPTED'] as const satisfies readonly DispatchFailureReason[];

/** The two parties of a trip, either of whom may ask to cancel once a driver is assigned. */
export type TripParty = 'passenger' | 'driver';

/** Everything that can happen to a trip: the one source of truth for its event types. */
export type TripEvent =
  | {
      type: 'TripCreated';
      data: {
        tripId: string;
        passengerId: string;
        start: Position;
        end: Position;
        /** Great-circle distance, rounded to metres (3 decimals). */
        distanceKm: number;
        /** Computed from the rounded `distanceKm` with the pricing in force. */
        fare: number;
        requestedAt: string;
      };
    }
  | { type: 'TripConfirmed'; data: { tripId: string } }
  | { type: 'TripRejected'; data: { tripId: string; reason: string } }
  | { type: 'TripDispatchStarted'; data: { tripId: string; candidateDriverIds: string[] } }
  | { type: 'DriverAcceptedTrip'; data: { tripId: string; driverId: string; position: Position; acceptedAt: string } }
  | { type: 'TripDriverAssigned'; data: { tripId: string; driverId: string } }
  | { type: 'TripDispatchFailed'; data: { tripId: string; reason: DispatchFailureReason } }
  | { type: 'TripStarted'; data: { tripId: string; startedAt: string } }
  | { type: 'TripFinished'; data: { tripId: string; finishedAt: string } }
  | { type: 'TripCancellationRequested'; data: { tripId: string; requestedBy: TripParty; reason: string } }
  | { type: 'TripCancelled'; data: { tripId: string; reason: string; cancelledBy: TripParty | 'admin' } }
  | { type: 'TripCancellationResolutionRequired'; data: { tripId: string } };
