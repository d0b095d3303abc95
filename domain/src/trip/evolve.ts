import { UnreachableCaseError } from '../errors.ts';
import type { Position } from '../geo.ts';
import type { DispatchFailureReason, TripEvent, TripParty } from './events.ts';

/** A trip's states, with the names of the public `TripState` enum. */
export const tripStatuses = [
  'CREATED',
  'CONFIRMED',
  'REJECTED',
  'DISPATCHING',
  'DRIVER_ASSIGNED',
  'DISPATCH_FAILED',
  'STARTED',
  'FINISHED',
  'CANCELLATION_REQUESTED',
  'CANCELLED',
] as const;
export type TripStatus = (typeof tripStatuses)[number];

export interface Acceptance {
  driverId: string;
  position: Position;
  acceptedAt: string;
}

export interface Trip {
  status: TripStatus;
  id: string;
  passengerId: string;
  start: Position;
  end: Position;
  distanceKm: number;
  fare: number;
  requestedAt: string;
  /** The drivers offered the trip; empty until dispatch starts. */
  candidateDriverIds: string[];
  acceptances: Acceptance[];
  /** Set from TripDriverAssigned on; kept after a cancellation. */
  driverId?: string;
  /** Set only while CANCELLATION_REQUESTED. */
  cancellationRequest?: { requestedBy: TripParty; reason: string };
  /** A party disagreed with a cancellation: only an operator (admin) may cancel from now on. */
  cancellationDisputed: boolean;
  rejectionReason?: string;
  dispatchFailureReason?: DispatchFailureReason;
}

export type TripState = { status: 'NONE' } | Trip;

export const initialTripState = (): TripState => ({ status: 'NONE' });

/** Applies `change` to an existing trip; recorded events never throw, even out of order. */
const onTrip = (state: TripState, change: (trip: Trip) => Trip): TripState =>
  state.status === 'NONE' ? state : change(state);

function withoutCancellationRequest(trip: Trip): Trip {
  const rest = { ...trip };
  delete rest.cancellationRequest;
  return rest;
}

export function evolveTrip(state: TripState, event: TripEvent): TripState {
  switch (event.type) {
    case 'TripCreated': {
      const { tripId, passengerId, start, end, distanceKm, fare, requestedAt } = event.data;
      return {
        status: 'CREATED',
        id: tripId,
        passengerId,
        start,
        end,
        distanceKm,
        fare,
        requestedAt,
        candidateDriverIds: [],
        acceptances: [],
        cancellationDisputed: false,
      };
    }
    case 'TripConfirmed':
      return onTrip(state, (trip) => ({ ...trip, status: 'CONFIRMED' }));
    case 'TripRejected':
      return onTrip(state, (trip) => ({ ...trip, status: 'REJECTED', rejectionReason: event.data.reason }));
    case 'TripDispatchStarted':
      return onTrip(state, (trip) => ({ ...trip, status: 'DISPATCHING', candidateDriverIds: event.data.candidateDriverIds }));
    case 'DriverAcceptedTrip': {
      const { driverId, position, acceptedAt } = event.data;
      return onTrip(state, (trip) => ({ ...trip, acceptances: [...trip.acceptances, { driverId, position, acceptedAt }] }));
    }
    case 'TripDriverAssigned':
      return onTrip(state, (trip) => ({ ...trip, status: 'DRIVER_ASSIGNED', driverId: event.data.driverId }));
    case 'TripDispatchFailed':
      return onTrip(state, (trip) => ({ ...trip, status: 'DISPATCH_FAILED', dispatchFailureReason: event.data.reason }));
    case 'TripStarted':
      return onTrip(state, (trip) => ({ ...trip, status: 'STARTED' }));
    case 'TripFinished':
      return onTrip(state, (trip) => ({ ...trip, status: 'FINISHED' }));
    case 'TripCancellationRequested': {
      const { requestedBy, reason } = event.data;
      return onTrip(state, (trip) => ({ ...trip, status: 'CANCELLATION_REQUESTED', cancellationRequest: { requestedBy, reason } }));
    }
    case 'TripCancelled':
      return onTrip(state, (trip) => ({ ...withoutCancellationRequest(trip), status: 'CANCELLED' }));
    case 'TripCancellationResolutionRequired':
      return onTrip(state, (trip) => ({ ...withoutCancellationRequest(trip), status: 'DRIVER_ASSIGNED', cancellationDisputed: true }));
    default:
      throw new UnreachableCaseError(event);
  }
}
