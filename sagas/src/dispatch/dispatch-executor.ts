import {
  DomainError,
  driverDecider,
  fold,
  passengerDecider,
  tripDecider,
  UnreachableCaseError,
  type AvailableDriversIndex,
  type CommandMetadata,
} from '@happyride/domain';
import { commandHandler, type EventStore } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';
import { systemClock, type Clock } from '../runtime/clock.ts';
import type { PendingCommand } from '../runtime/mongo-saga-store.ts';
import { SYSTEM_ACTOR } from '../runtime/system-actor.ts';
import type { CommandExecutor } from '../runtime/runner.ts';
import { commandRejected, type CommandRejected } from '../runtime/saga.ts';
import { candidatesFound, driverReserved, type CandidatesFound, type DispatchCommand, type DriverReserved } from './dispatch-commands.ts';
import type { DispatchOffers } from './dispatch-offers.ts';

/** Most drivers offered one trip: the nearest ones. */
export const MAX_CANDIDATES = 100;

export interface DispatchExecutorOptions {
  events: EventStore;
  index: AvailableDriversIndex;
  offers: DispatchOffers;
  radiusKm: number;
  clock?: Clock;
  logger?: Logger;
}

export type DispatchOutcomeInput = CandidatesFound | DriverReserved | CommandRejected<DispatchCommand>;

/**
 * The I/O of dispatch: reads (trip, passenger, the index), trip and driver commands through
 * their command handlers with the `system` actor and the saga's command id (a retry deduplicates),
 * and the offers read model with its notices. A domain refusal becomes `CommandRejected`.
 */
export function createDispatchExecutor({ events, index, offers, radiusKm, clock = systemClock, logger }: DispatchExecutorOptions): CommandExecutor<DispatchOutcomeInput, DispatchCommand> {
  const metadata = (commandId: string): CommandMetadata => ({ commandId, actor: SYSTEM_ACTOR, now: clock.now().toISOString() });
  // Only StartDispatch, FailDispatch and AssignDriver are sent, so the trip pricing does not matter.
  const tripCommands = commandHandler({ store: events, aggregateType: 'trip', decider: tripDecider });
  const driverCommands = commandHandler({ store: events, aggregateType: 'driver', decider: driverDecider });

  return async function execute(command: PendingCommand<DispatchCommand>, { correlationId }): Promise<DispatchOutcomeInput | null> {
    const context = { correlationId, causationId: command.causationId };
    const { commandId } = command;
    try {
      switch (command.type) {
        case 'FindCandidates': {
          const trip = fold(tripDecider, (await events.read('trip', command.tripId)).events);
          if (trip.status === 'NONE') return candidatesFound(command, null, []);
          const passenger = fold(passengerDecider, (await events.read('passenger', trip.passengerId)).events);
          const passengerName = passenger.status === 'registered' ? passenger.name : '';
          const { id: tripId, passengerId, start, end, distanceKm, fare } = trip;
          const candidates = index.nearest(start, radiusKm, MAX_CANDIDATES).map(({ driverId, distanceKm: km }) => ({ driverId, distanceKm: km }));
          return candidatesFound(command, { tripId, passengerId, passengerName, start, end, distanceKm, fare }, candidates);
        }
        case 'StartDispatch': {
          const { tripId, candidateDriverIds } = command;
          await tripCommands(tripId, { type: 'StartDispatch', data: { tripId, candidateDriverIds }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'FailDispatch': {
          const { tripId, reason } = command;
          await tripCommands(tripId, { type: 'FailDispatch', data: { tripId, reason }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'AssignDriver': {
          const { tripId, driverId } = command;
          await tripCommands(tripId, { type: 'AssignDriver', data: { tripId, driverId }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'ReserveDriver': {
          const { tripId, driverId } = command;
          await driverCommands(driverId, { type: 'ReserveDriverForTrip', data: { driverId, tripId }, metadata: metadata(commandId) }, context);
          index.setActiveTrip(driverId, tripId); // the driver feed says so too, a little later
          return driverReserved(command);
        }
        case 'ReleaseDriver': {
          const { tripId, driverId } = command;
          await driverCommands(driverId, { type: 'ReleaseDriverFromTrip', data: { driverId, tripId }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'PublishOffers': {
          const expiresAt = new Date(clock.now().getTime() + command.expiresInMs).toISOString();
          await offers.open(command.offer, command.driverIds, expiresAt);
          return null;
        }
        case 'CloseOffers':
          await offers.close(command.tripId, command.driverIds, command.status, command.assignedDriverId);
          return null;
        default:
          throw new UnreachableCaseError(command);
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      logger?.info({ sagaId: command.sagaId, commandId, kind: error.kind, reason: error.message }, 'dispatch command refused');
      return commandRejected<DispatchCommand>(command, error.kind, error.message);
    }
  };
}
