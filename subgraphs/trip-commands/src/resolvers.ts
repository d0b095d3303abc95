import {
  fold,
  notFound,
  passengerDecider,
  validId,
  type Decider,
  type Position,
  type TripCommand,
  type TripEvent,
  type TripState,
  type TripStatus,
} from '@happyride/domain';
import { handleCommand, type CommandOutcome, type EventStore } from '@happyride/eventstore';
import { requireActor, type CommandContext } from '@happyride/platform';
import { randomUUID } from 'node:crypto';

export type TripCommandsContext = CommandContext<{
  /** The trip decider with the pricing this process was configured with. */
  decider: Decider<TripCommand, TripEvent, TripState>;
}>;

/** What every trip mutation answers: the trip as the write side decided it. */
export interface TripPayload {
  id: string;
  version: number;
  state: TripStatus;
  fare: number;
  distanceKm: number;
  passengerId: string;
  driverId: string | null;
}

export function tripPayload(id: string, { state, version }: CommandOutcome<TripState>): TripPayload {
  if (state.status === 'NONE') throw new Error(`trip ${id} has no state after a command`);
  const { status, fare, distanceKm, passengerId, driverId } = state;
  return { id, version, state: status, fare, distanceKm, passengerId, driverId: driverId ?? null };
}

type CommandFor<T extends TripCommand['type']> = Extract<TripCommand, { type: T }>;

async function execute<T extends TripCommand['type']>(type: T, data: CommandFor<T>['data'], ctx: TripCommandsContext) {
  const actor = requireActor(ctx.actor);
  // Checked before the aggregate is read: the id becomes part of a NATS subject.
  const tripId = validId(data.tripId, 'tripId');
  const command = {
    type,
    data,
    metadata: { commandId: randomUUID(), actor, now: ctx.now().toISOString() },
  } as CommandFor<T>;
  const outcome = await handleCommand(ctx.store, 'trip', tripId, ctx.decider, command, { correlationId: ctx.correlationId });
  return tripPayload(tripId, outcome);
}

/** A trip is requested by a registered passenger: their aggregate is read before deciding. */
async function requireRegisteredPassenger(store: EventStore, passengerId: string): Promise<void> {
  const history = await store.read('passenger', validId(passengerId, 'passengerId'));
  if (fold(passengerDecider, history.events).status !== 'registered') {
    throw notFound(`Passenger ${passengerId} is not registered: register as a passenger first.`);
  }
}

async function requestTrip(input: { start: Position; end: Position }, ctx: TripCommandsContext) {
  const actor = requireActor(ctx.actor);
  // Anyone but a passenger is refused by the decider (FORBIDDEN); only passengers need the lookup.
  if (actor.role === 'passenger') await requireRegisteredPassenger(ctx.store, actor.id);
  const data = { tripId: randomUUID(), passengerId: actor.id, start: positionOf(input.start), end: positionOf(input.end) };
  return execute('RequestTrip', data, ctx);
}

const positionOf = (input: Position): Position => ({ lng: input.lng, lat: input.lat });
const callerId = (ctx: TripCommandsContext) => requireActor(ctx.actor).id;

type Args<I> = { input: I };

export const resolvers = {
  Mutation: {
    requestTrip: (_: unknown, { input }: Args<{ start: Position; end: Position }>, ctx: TripCommandsContext) => requestTrip(input, ctx),
    acceptTrip: (_: unknown, { input }: Args<{ tripId: string; position: Position }>, ctx: TripCommandsContext) =>
      execute('AcceptTrip', { tripId: input.tripId, driverId: callerId(ctx), position: positionOf(input.position) }, ctx),
    cancelTrip: (_: unknown, { input }: Args<{ tripId: string; reason: string }>, ctx: TripCommandsContext) =>
      execute('CancelTrip', { tripId: input.tripId, reason: input.reason }, ctx),
    respondToCancellation: (_: unknown, { input }: Args<{ tripId: string; agree: boolean }>, ctx: TripCommandsContext) =>
      execute('RespondToCancellation', { tripId: input.tripId, agree: input.agree }, ctx),
    startTrip: (_: unknown, { input }: Args<{ tripId: string }>, ctx: TripCommandsContext) =>
      execute('StartTrip', { tripId: input.tripId }, ctx),
    finishTrip: (_: unknown, { input }: Args<{ tripId: string }>, ctx: TripCommandsContext) =>
      execute('FinishTrip', { tripId: input.tripId }, ctx),
  },
};
