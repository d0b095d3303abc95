import { illegalState } from '../errors.ts';
import type { TripStatus } from './evolve.ts';

/**
 * A passenger has at most one active trip: one requested and not yet finished, cancelled,
 * rejected or failed to dispatch (DOMAIN.md). Enforced by a per-passenger slot that names the
 * trip the passenger last requested, written with compare-and-set before that trip is appended.
 * The slot is never released explicitly: it is free as soon as the trip it names has ended,
 * which the trip's own log says. This is the rule, pure; the subgraph does the reads and writes.
 */
export interface TripSlot {
  tripId: string;
  /** ISO-8601 instant the slot was taken: the trip it names should be in the log right after. */
  since: string;
}

/**
 * How long a slot whose trip is not (yet) in the log still counts as taken: the request that
 * took it appends the trip right after, unless it died in between. Past this, the passenger
 * may request again (a stale slot never blocks anyone for long).
 */
export const TRIP_SLOT_GRACE_MS = 30_000;

/**
 * The request that took a slot appends its trip only if no more than this has passed since
 * (else it fails and the client retries): a stalled request cannot append after the grace,
 * when another request may have taken the slot over.
 */
export const TRIP_SLOT_APPEND_WITHIN_MS = TRIP_SLOT_GRACE_MS / 2;

export const endedTripStatuses = ['FINISHED', 'CANCELLED', 'REJECTED', 'DISPATCH_FAILED'] as const satisfies readonly TripStatus[];

export const isTripActive = (status: TripStatus): boolean => !(endedTripStatuses as readonly TripStatus[]).includes(status);

/** What the slot holds now: its trip and that trip's state in the log (`NONE`: not there). */
export interface HeldSlot {
  slot: TripSlot;
  status: TripStatus | 'NONE';
}

/**
 * May `passengerId` take the slot for `tripId` at `now`? Returns the slot to write, or null
 * when it names this trip and the trip is in the log already (a retry: nothing to write). A
 * retry whose trip is not in the log yet re-takes the slot with a fresh `since`, so its append
 * starts a new grace period. Throws `ILLEGAL_STATE` (→ `CONFLICT`) while another trip of
 * theirs is active or still being requested.
 */
export function decideTripSlot(request: { passengerId: string; tripId: string; now: string }, held: HeldSlot | null): TripSlot | null {
  const { passengerId, tripId, now } = request;
  const taken: TripSlot = { tripId, since: now };
  if (held === null) return taken;
  const { slot, status } = held;
  if (slot.tripId === tripId) return status === 'NONE' ? taken : null;
  if (status === 'NONE') {
    const age = Date.parse(now) - Date.parse(slot.since);
    if (age < TRIP_SLOT_GRACE_MS) {
      throw illegalState(`Passenger ${passengerId} is already requesting trip ${slot.tripId}: wait for it, or try again in ${Math.ceil((TRIP_SLOT_GRACE_MS - age) / 1000)} s.`);
    }
    return taken; // its request died before the trip was appended
  }
  if (isTripActive(status)) {
    throw illegalState(`Passenger ${passengerId} already has an active trip ${slot.tripId} (${status}): finish or cancel it before requesting another.`);
  }
  return taken;
}
