import {
  decideTripSlot,
  fold,
  notFound,
  passengerDecider,
  validId,
  type Decider,
  type Position,
  type TripCommand,
  type TripEvent,
  type TripState,
  tripDecider,
  TRIP_SLOT_APPEND_WITHIN_MS,
  type TripSlot,
  type TripStatus,
} from '@happyride/domain';
import { commandHandler, type CommandHandler, type CommandOutcome, type DriverLocationStore, type EventStore, type TripSlots } from '@happyride/eventstore';
import { appendContextOf, commandMutation, graphQLError, idempotent, requireActor, type CommandContext } from '@happyride/platform';
import type {
  MutationAcceptTripArgs,
  MutationCancelTripArgs,
  MutationFinishTripArgs,
  MutationRequestTripArgs,
  MutationRespondToCancellationArgs,
  MutationStartTripArgs,
  RequestTripInput,
  Resolvers,
} from './generated/resolvers-types.ts';

export type TripCommandsContext = CommandContext<{
  /** The trip decider with the pricing this process was configured with. */
  decider: Decider<TripCommand, TripEvent, TripState>;
  /** The trip aggregate's command handler, bound to that decider and the store (`tripCommands`). */
  trips: CommandHandler<TripCommand, TripState>;
  /** Each passenger's trip slot: at most one active trip (`domain/src/trip/active-trip.ts`). */
  slots: TripSlots;
  /** Drivers' last reported locations (read only): an acceptance's position is checked against the driver's. */
  locations: Pick<DriverLocationStore, 'get'>;
}>;

/** What every trip mutation answers: the trip as the write side decided it. */
interface TripPayload {
  id: string;
  version: number;
  state: TripStatus;
  fare: number;
  distanceKm: number;
  passengerId: string;
  driverId: string | null;
}

function tripPayload(id: string, { state, version }: CommandOutcome<TripState>): TripPayload {
  if (state.status === 'NONE') throw new Error(`trip ${id} has no state after a command`);
  const { status, fare, distanceKm, passengerId, driverId } = state;
  return { id, version, state: status, fare, distanceKm, passengerId, driverId: driverId ?? null };
}

/** The trip aggregate's command handler, bound once to the store and the configured decider. */
export const tripCommands = (store: EventStore, decider: Decider<TripCommand, TripEvent, TripState>) => commandHandler({ store, aggregateType: 'trip', decider });

/** One mutation: `input` is what the client sent (the idempotency fingerprint), `data` the command's. */
const execute = commandMutation({
  handler: (ctx: TripCommandsContext) => ctx.trips,
  aggregateId: (data: TripCommand['data']) => validId(data.tripId, 'tripId'),
  payload: tripPayload,
});

/** A trip is requested by a registered passenger: their aggregate is read before deciding. */
async function requireRegisteredPassenger(store: EventStore, passengerId: string): Promise<void> {
  const history = await store.read('passenger', validId(passengerId, 'passengerId'));
  if (fold(passengerDecider, history.events).status !== 'registered') {
    throw notFound(`Passenger ${passengerId} is not registered: register as a passenger first.`);
  }
}

/**
 * Takes the passenger's trip slot for `tripId` (compare-and-set: of two racing requests one
 * wins, the other reads the winner's slot and is refused), or finds it taken for this trip
 * already in the log (a retry: null). The trip the slot names is looked up in its log: ended
 * frees the slot. Returns the slot as written.
 */
async function takeTripSlot(ctx: TripCommandsContext, passengerId: string, tripId: string, maxAttempts = 5): Promise<TripSlot | null> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const stored = await ctx.slots.get(passengerId);
    const held = stored ? { slot: stored.slot, status: await tripStatus(ctx.store, stored.slot.tripId) } : null;
    const next = decideTripSlot({ passengerId, tripId, now: ctx.now().toISOString() }, held);
    if (next === null) return null;
    if (await ctx.slots.swap(passengerId, next, stored?.revision ?? 0)) return next;
  }
  throw graphQLError('CONFLICT', `Passenger ${passengerId}'s trip requests kept racing ${maxAttempts} times in a row; try again.`);
}

async function tripStatus(store: EventStore, tripId: string) {
  return fold(tripDecider, (await store.read('trip', validId(tripId, 'tripId'))).events).status;
}

/**
 * Validate (a dry run of the decider on no trip), take the passenger's slot, then append the
 * trip, unless so much time passed since the slot was taken that another request may take it
 * over (`TRIP_SLOT_APPEND_WITHIN_MS`). Dying after the slot and before the append leaves a
 * slot naming a trip that is not in the log: a retry with the same key derives the same trip
 * id and finishes the job; otherwise the slot is free after `TRIP_SLOT_GRACE_MS`.
 */
async function requestTrip(input: RequestTripInput, ctx: TripCommandsContext) {
  return idempotent(ctx, 'requestTrip', input, async ({ commandId, derive }) => {
    const actor = requireActor(ctx.actor);
    const data = { tripId: derive('tripId'), passengerId: actor.id, start: positionOf(input.start), end: positionOf(input.end) };
    const command: TripCommand = { type: 'RequestTrip', data, metadata: { commandId, actor, now: ctx.now().toISOString() } };
    ctx.decider.decide(command, ctx.decider.initialState()); // refuses a bad request before the slot is taken
    await requireRegisteredPassenger(ctx.store, actor.id);
    // A retry whose trip is in the log already is answered from it, whatever the slot holds by now.
    if ((await ctx.store.read('trip', data.tripId)).version === 0) {
      const slot = await takeTripSlot(ctx, actor.id, data.tripId);
      if (slot && ctx.now().getTime() - Date.parse(slot.since) > TRIP_SLOT_APPEND_WITHIN_MS) {
        // Stalled so long that the slot may soon be taken over: append nothing; a retry re-takes it.
        throw graphQLError('CONFLICT', 'The trip request took too long to record; send it again (with the same Idempotency-Key).');
      }
    }
    const outcome = await ctx.trips(data.tripId, command, appendContextOf(ctx));
    return tripPayload(data.tripId, outcome);
  });
}

const positionOf = (input: Position): Position => ({ lng: input.lng, lat: input.lat });
const callerId = (ctx: TripCommandsContext) => requireActor(ctx.actor).id;

/** The caller's last reported location, for the decider to check the acceptance's position against. */
async function lastReportOf(ctx: TripCommandsContext, driverId: string) {
  const last = await ctx.locations.get(driverId);
  return last ? { position: last.position, at: last.at } : null;
}

export const resolvers = {
  Mutation: {
    requestTrip: (_: unknown, { input }: MutationRequestTripArgs, ctx: TripCommandsContext) => requestTrip(input, ctx),
    acceptTrip: async (_: unknown, { input }: MutationAcceptTripArgs, ctx: TripCommandsContext) => {
      const driverId = callerId(ctx);
      const lastReport = await lastReportOf(ctx, driverId);
      return execute('acceptTrip', input, 'AcceptTrip', { tripId: input.tripId, driverId, position: positionOf(input.position), lastReport }, ctx);
    },
    cancelTrip: (_: unknown, { input }: MutationCancelTripArgs, ctx: TripCommandsContext) =>
      execute('cancelTrip', input, 'CancelTrip', { tripId: input.tripId, reason: input.reason }, ctx),
    respondToCancellation: (_: unknown, { input }: MutationRespondToCancellationArgs, ctx: TripCommandsContext) =>
      execute('respondToCancellation', input, 'RespondToCancellation', { tripId: input.tripId, agree: input.agree }, ctx),
    startTrip: (_: unknown, { input }: MutationStartTripArgs, ctx: TripCommandsContext) =>
      execute('startTrip', input, 'StartTrip', { tripId: input.tripId }, ctx),
    finishTrip: (_: unknown, { input }: MutationFinishTripArgs, ctx: TripCommandsContext) =>
      execute('finishTrip', input, 'FinishTrip', { tripId: input.tripId }, ctx),
  },
} satisfies Resolvers;
