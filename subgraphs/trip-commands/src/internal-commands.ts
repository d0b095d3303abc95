import { tripDecider, validId, type Actor, type DispatchFailureReason, type TripCommand, type TripState } from '@happyride/domain';
import { handleCommand, type CommandContext, type CommandOutcome, type EventStore } from '@happyride/eventstore';

/** How an internal command is identified: the caller chooses the command id, so a saga can derive it. */
export interface InternalCommandContext extends CommandContext {
  /** Resending a command with the same id is idempotent: the outcome is reported, nothing decided again. */
  commandId: string;
}

/** The actor of every internal command: never from a token. */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };

type InternalType = 'ConfirmTrip' | 'RejectTrip' | 'StartDispatch' | 'AssignDriver' | 'FailDispatch';
type CommandFor<T extends InternalType> = Extract<TripCommand, { type: T }>;

/**
 * The trip commands the creation saga and dispatch send, as the `system` actor, through the
 * same load → decide → append path as the mutations. Called from code, never exposed in the graph.
 * @example
 * const trips = new TripInternalCommands(store, () => new Date());
 * await trips.confirm(tripId, { commandId: `confirm-${tripId}`, correlationId, causationId: event.eventId });
 */
export class TripInternalCommands {
  constructor(
    private readonly store: EventStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** CREATED → CONFIRMED: the passenger may ride. */
  confirm(tripId: string, context: InternalCommandContext) {
    return this.#send('ConfirmTrip', { tripId }, context);
  }

  /** CREATED → REJECTED, with a reason the passenger will see. */
  reject(tripId: string, reason: string, context: InternalCommandContext) {
    return this.#send('RejectTrip', { tripId, reason }, context);
  }

  /** CONFIRMED → DISPATCHING: the trip is offered to these drivers. */
  startDispatch(tripId: string, candidateDriverIds: readonly string[], context: InternalCommandContext) {
    return this.#send('StartDispatch', { tripId, candidateDriverIds: [...candidateDriverIds] }, context);
  }

  /** DISPATCHING → DRIVER_ASSIGNED, to a driver who accepted. */
  assignDriver(tripId: string, driverId: string, context: InternalCommandContext) {
    return this.#send('AssignDriver', { tripId, driverId }, context);
  }

  /** CONFIRMED or DISPATCHING → DISPATCH_FAILED. */
  failDispatch(tripId: string, reason: DispatchFailureReason, context: InternalCommandContext) {
    return this.#send('FailDispatch', { tripId, reason }, context);
  }

  #send<T extends InternalType>(
    type: T,
    data: CommandFor<T>['data'],
    { commandId, ...context }: InternalCommandContext,
  ): Promise<CommandOutcome<TripState>> {
    const tripId = validId(data.tripId, 'tripId');
    const command = { type, data, metadata: { commandId, actor: SYSTEM_ACTOR, now: this.clock().toISOString() } } as CommandFor<T>;
    // RequestTrip is never sent here, so the pricing of `tripDecider` plays no part.
    return handleCommand(this.store, 'trip', tripId, tripDecider, command, context);
  }
}
