import type { DispatchFailureReason, Position } from '@happyride/domain';
import type { DirectInput } from '../runtime/saga.ts';

/** What a driver sees of a trip offered to them (the `dispatch_offers` read model). */
export interface OfferDetails {
  tripId: string;
  passengerId: string;
  passengerName: string;
  start: Position;
  end: Position;
  distanceKm: number;
  fare: number;
}

/** An offer's life: open until the trip is assigned (to this driver or another), fails or is cancelled. */
export type OfferStatus = 'OPEN' | 'ASSIGNED' | 'TAKEN' | 'EXPIRED' | 'CANCELLED';

/** Everything the dispatch saga asks of the rest of the system, as data (see `dispatch-executor.ts`). */
export type DispatchCommand =
  /** A read: the trip, its passenger's name and the available drivers near its start; answered by `CandidatesFound`. */
  | { type: 'FindCandidates'; sagaId: string; commandId: string; tripId: string }
  | { type: 'StartDispatch'; sagaId: string; commandId: string; tripId: string; candidateDriverIds: string[] }
  | { type: 'FailDispatch'; sagaId: string; commandId: string; tripId: string; reason: DispatchFailureReason }
  /** Writes an OPEN offer per driver and pushes a notice to each. */
  | { type: 'PublishOffers'; sagaId: string; commandId: string; offer: OfferDetails; driverIds: string[]; expiresInMs: number }
  /** Closes the trip's offers: the assigned driver's ASSIGNED, every other one `status`; a notice to each. */
  | { type: 'CloseOffers'; sagaId: string; commandId: string; tripId: string; driverIds: string[]; assignedDriverId?: string; status: Exclude<OfferStatus, 'OPEN' | 'ASSIGNED'> }
  /** On the driver's log, with its version: refused if another trip has the driver. Answered by `DriverReserved`. */
  | { type: 'ReserveDriver'; sagaId: string; commandId: string; tripId: string; driverId: string }
  | { type: 'AssignDriver'; sagaId: string; commandId: string; tripId: string; driverId: string }
  | { type: 'ReleaseDriver'; sagaId: string; commandId: string; tripId: string; driverId: string };

export type DispatchCommandType = DispatchCommand['type'];

/** The answer to `FindCandidates`: `trip` is null when the trip cannot be read (it does not exist). */
export interface CandidatesFound extends DirectInput {
  type: 'CandidatesFound';
  trip: OfferDetails | null;
  /** Nearest first, within the radius. */
  candidates: { driverId: string; distanceKm: number }[];
}

/** The answer to a `ReserveDriver` that went through: the driver is this trip's alone. */
export interface DriverReserved extends DirectInput {
  type: 'DriverReserved';
  driverId: string;
}

export const candidatesFound = (command: Extract<DispatchCommand, { type: 'FindCandidates' }>, trip: OfferDetails | null, candidates: CandidatesFound['candidates']): CandidatesFound => ({
  type: 'CandidatesFound',
  sagaId: command.sagaId,
  inputId: `${command.commandId}:answer`,
  trip,
  candidates,
});

export const driverReserved = (command: Extract<DispatchCommand, { type: 'ReserveDriver' }>): DriverReserved => ({
  type: 'DriverReserved',
  sagaId: command.sagaId,
  inputId: `${command.commandId}:answer`,
  driverId: command.driverId,
});
