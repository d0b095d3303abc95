import type { Actor } from '../decider.ts';
import { checkPlausibleMove, defaultMovementLimits, type MovementLimits } from '../driver/plausibility.ts';
import { forbidden, illegalState, invalidInput, notFound, UnreachableCaseError } from '../errors.ts';
import { computeFare, type Pricing } from '../fare.ts';
import { haversineKm, validPosition } from '../geo.ts';
import { validId } from '../validation.ts';
import type { TripCommand } from './commands.ts';
import { dispatchFailureReasons, type DispatchFailureReason, type TripEvent, type TripParty } from './events.ts';
import type { Trip, TripState } from './evolve.ts';

export const MAX_REASON_LENGTH = 500;

/** A free-text reason (rejection, cancellation): trimmed, 1 to 500 characters. */
export function validReason(raw: string, field = 'reason'): string {
  const reason = typeof raw === 'string' ? raw.trim() : '';
  if (reason.length === 0) throw invalidInput(`${field} must not be empty.`);
  if ([...reason].length > MAX_REASON_LENGTH) throw invalidInput(`${field} must be at most ${MAX_REASON_LENGTH} characters.`);
  return reason;
}

function validFailureReason(raw: string): DispatchFailureReason {
  const reason = dispatchFailureReasons.find((known) => known === raw);
  if (!reason) throw invalidInput(`reason must be one of ${dispatchFailureReasons.join(', ')}; got ${JSON.stringify(raw)}.`);
  return reason;
}

function validCandidates(raw: readonly string[]): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw invalidInput('candidateDriverIds must name at least one driver.');
  return [...new Set(raw.map((id) => validId(id, 'candidateDriverIds[]')))];
}

const roundTo = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** Who the actor is to this trip, if anyone: its passenger, its assigned driver, or an admin. */
function partyOf(actor: Actor, trip: Trip): TripParty | 'admin' | undefined {
  if (actor.role === 'admin') return 'admin';
  if (actor.role === 'passenger' && actor.id === trip.passengerId) return 'passenger';
  if (actor.role === 'driver' && trip.driverId !== undefined && actor.id === trip.driverId) return 'driver';
  return undefined;
}

const otherParty = (party: TripParty): TripParty => (party === 'passenger' ? 'driver' : 'passenger');

function mustBeSystem(actor: Actor, commandType: TripCommand['type']): void {
  if (actor.role !== 'system') {
    throw forbidden(`${commandType} is an internal command: only the trip creation saga or dispatch may send it.`);
  }
}

function mustExist(state: TripState, tripId: string): Trip {
  if (state.status === 'NONE') throw notFound(`Trip ${tripId} does not exist.`);
  return state;
}

/** The one shape of an illegal transition: names the trip, what was asked and the state it is in. */
const cannot = (trip: Trip, what: string, why = `it is ${trip.status}`) =>
  illegalState(`Trip ${trip.id} cannot be ${what}: ${why}.`);

function decideCancel(trip: Trip, actor: Actor, reason: string): TripEvent[] {
  const by = partyOf(actor, trip);
  if (by === undefined) {
    throw forbidden(`Only trip ${trip.id}'s passenger, its assigned driver or an admin may cancel it.`);
  }
  const tripId = trip.id;
  const cancelled: TripEvent = { type: 'TripCancelled', data: { tripId, reason, cancelledBy: by } };
  const why = (text: string) => cannot(trip, 'cancelled', `${text} (it is ${trip.status})`);
  switch (trip.status) {
    case 'CREATED':
    case 'CONFIRMED':
    case 'DISPATCHING':
      // No driver is assigned yet, so `by` is the passenger or an admin: it takes effect at once.
      return [cancelled];
    case 'DRIVER_ASSIGNED':
      if (by === 'admin') return [cancelled];
      if (trip.cancellationDisputed) {
        throw why('an earlier cancellation request was disputed and awaits an operator; ask an admin to cancel it');
      }
      return [{ type: 'TripCancellationRequested', data: { tripId, requestedBy: by, reason } }];
    case 'CANCELLATION_REQUESTED': {
      if (by === 'admin') return [cancelled];
      const requestedBy = trip.cancellationRequest?.requestedBy;
      throw requestedBy === by
        ? why(`your cancellation request is awaiting the ${otherParty(by)}'s answer`)
        : why(`the ${otherParty(by)} already asked to cancel; respond to that request instead`);
    }
    case 'STARTED':
      throw why('it has already started; finish it instead');
    case 'FINISHED':
      throw why('it has already finished');
    case 'REJECTED':
      throw why('it was rejected and never went ahead');
    case 'DISPATCH_FAILED':
      throw why('no driver could be found for it, so it is already over');
    case 'CANCELLED':
      throw why('it is already cancelled');
    default:
      throw new UnreachableCaseError(trip.status);
  }
}

function decideResponse(trip: Trip, actor: Actor, agree: boolean): TripEvent[] {
  const by = partyOf(actor, trip);
  if (by !== 'passenger' && by !== 'driver') {
    throw forbidden(`Only trip ${trip.id}'s passenger or its assigned driver may respond to a cancellation request.`);
  }
  const request = trip.cancellationRequest;
  if (trip.status !== 'CANCELLATION_REQUESTED' || request === undefined) {
    throw illegalState(`Trip ${trip.id} has no cancellation request to respond to: it is ${trip.status}.`);
  }
  if (request.requestedBy === by) {
    throw forbidden(`You asked to cancel trip ${trip.id}; only the ${otherParty(by)} may respond to that request.`);
  }
  const tripId = trip.id;
  return agree
    ? [{ type: 'TripCancelled', data: { tripId, reason: request.reason, cancelledBy: request.requestedBy } }]
    : [{ type: 'TripCancellationResolutionRequired', data: { tripId } }];
}

/** `decide` for trips, closed over the pricing that turns a distance into a fare and the limits a driver's movement is checked against. */
export function decideTripWith(pricing: Pricing, movement: MovementLimits = defaultMovementLimits) {
  return function decideTrip(command: TripCommand, state: TripState): TripEvent[] {
    const { actor, now } = command.metadata;
    const tripId = validId(command.data.tripId, 'tripId');
    switch (command.type) {
      case 'RequestTrip': {
        const passengerId = validId(command.data.passengerId, 'passengerId');
        if (actor.role !== 'passenger' || actor.id !== passengerId) {
          throw forbidden('A passenger requests trips for themself: sign in with the passenger role.');
        }
        const start = validPosition(command.data.start, 'start');
        const end = validPosition(command.data.end, 'end');
        if (start.lng === end.lng && start.lat === end.lat) {
          throw invalidInput('start and end must be different positions.');
        }
        if (state.status !== 'NONE') throw illegalState(`Trip ${tripId} already exists.`);
        const distanceKm = roundTo(haversineKm(start, end), 3);
        const fare = computeFare(distanceKm, pricing);
        return [{ type: 'TripCreated', data: { tripId, passengerId, start, end, distanceKm, fare, requestedAt: now } }];
      }
      case 'ConfirmTrip': {
        mustBeSystem(actor, command.type);
        const trip = mustExist(state, tripId);
        if (trip.status !== 'CREATED') throw cannot(trip, 'confirmed');
        return [{ type: 'TripConfirmed', data: { tripId } }];
      }
      case 'RejectTrip': {
        mustBeSystem(actor, command.type);
        const reason = validReason(command.data.reason);
        const trip = mustExist(state, tripId);
        if (trip.status !== 'CREATED') throw cannot(trip, 'rejected');
        return [{ type: 'TripRejected', data: { tripId, reason } }];
      }
      case 'StartDispatch': {
        mustBeSystem(actor, command.type);
        const candidateDriverIds = validCandidates(command.data.candidateDriverIds);
        const trip = mustExist(state, tripId);
        if (trip.status !== 'CONFIRMED') throw cannot(trip, 'dispatched');
        return [{ type: 'TripDispatchStarted', data: { tripId, candidateDriverIds } }];
      }
      case 'AcceptTrip': {
        const driverId = validId(command.data.driverId, 'driverId');
        if (actor.role !== 'driver' || actor.id !== driverId) {
          throw forbidden('A driver accepts offers for themself: sign in with the driver role.');
        }
        const position = validPosition(command.data.position, 'position');
        const trip = mustExist(state, tripId);
        if (!trip.candidateDriverIds.includes(driverId)) throw forbidden(`Trip ${tripId} was not offered to driver ${driverId}.`);
        if (trip.status !== 'DISPATCHING') throw cannot(trip, 'accepted');
        if (trip.acceptances.some((acceptance) => acceptance.driverId === driverId)) {
          throw cannot(trip, 'accepted', `driver ${driverId} has already accepted it`);
        }
        // Where the driver says they are must be reachable from where they last said they were.
        checkPlausibleMove(command.data.lastReport, { position, at: now }, movement, 'position');
        return [{ type: 'DriverAcceptedTrip', data: { tripId, driverId, position, acceptedAt: now } }];
      }
      case 'AssignDriver': {
        mustBeSystem(actor, command.type);
        const driverId = validId(command.data.driverId, 'driverId');
        const trip = mustExist(state, tripId);
        if (trip.status !== 'DISPATCHING') throw cannot(trip, 'assigned a driver');
        if (!trip.acceptances.some((acceptance) => acceptance.driverId === driverId)) {
          throw cannot(trip, `assigned to driver ${driverId}`, `that driver has not accepted it`);
        }
        return [{ type: 'TripDriverAssigned', data: { tripId, driverId } }];
      }
      case 'FailDispatch': {
        mustBeSystem(actor, command.type);
        const reason = validFailureReason(command.data.reason);
        const trip = mustExist(state, tripId);
        if (trip.status !== 'CONFIRMED' && trip.status !== 'DISPATCHING') throw cannot(trip, 'marked as failed to dispatch');
        return [{ type: 'TripDispatchFailed', data: { tripId, reason } }];
      }
      case 'StartTrip': {
        const trip = mustExist(state, tripId);
        if (partyOf(actor, trip) !== 'driver') throw forbidden(`Only the driver assigned to trip ${tripId} may start it.`);
        if (trip.status !== 'DRIVER_ASSIGNED') throw cannot(trip, 'started');
        return [{ type: 'TripStarted', data: { tripId, startedAt: now } }];
      }
      case 'FinishTrip': {
        const trip = mustExist(state, tripId);
        if (partyOf(actor, trip) !== 'driver') throw forbidden(`Only the driver assigned to trip ${tripId} may finish it.`);
        if (trip.status !== 'STARTED') throw cannot(trip, 'finished');
        return [{ type: 'TripFinished', data: { tripId, finishedAt: now } }];
      }
      case 'CancelTrip': {
        const reason = validReason(command.data.reason);
        return decideCancel(mustExist(state, tripId), actor, reason);
      }
      case 'RespondToCancellation': {
        if (typeof command.data.agree !== 'boolean') throw invalidInput('agree must be true or false.');
        return decideResponse(mustExist(state, tripId), actor, command.data.agree);
      }
      default:
        throw new UnreachableCaseError(command);
    }
  };
}
