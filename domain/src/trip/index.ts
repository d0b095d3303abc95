import type { Decider } from '../decider.ts';
import { defaultMovementLimits, type MovementLimits } from '../driver/plausibility.ts';
import { defaultPricing, validPricing, type Pricing } from '../fare.ts';
import type { TripCommand } from './commands.ts';
import { decideTripWith } from './decide.ts';
import type { TripEvent } from './events.ts';
import { evolveTrip, initialTripState, type TripState } from './evolve.ts';

export type { TripCommand, TripCommandType } from './commands.ts';
export { MAX_REASON_LENGTH, validReason } from './decide.ts';
export {
  dispatchFailureReasons,
  type DispatchFailureReason,
  type TripEvent,
  type TripParty,
} from './events.ts';
export { tripStatuses, type Acceptance, type Trip, type TripState, type TripStatus } from './evolve.ts';

/**
 * The trip decider for a pricing (the fare is computed when the trip is requested) and the
 * movement limits an accepting driver's position is checked against.
 * @example const decider = createTripDecider({ baseFare: 8, perKm: 2 });
 */
export function createTripDecider(pricing: Pricing = defaultPricing, movement: MovementLimits = defaultMovementLimits): Decider<TripCommand, TripEvent, TripState> {
  return { decide: decideTripWith(validPricing(pricing), movement), evolve: evolveTrip, initialState: initialTripState };
}

export const tripDecider = createTripDecider();
export { decideTripSlot, endedTripStatuses, isTripActive, TRIP_SLOT_APPEND_WITHIN_MS, TRIP_SLOT_GRACE_MS, type HeldSlot, type TripSlot } from './active-trip.ts';
