import { selectDriver, type DriverAcceptance } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import { stepCommandId, type CommandRejected, type DeadlineReached, type Saga, type SagaDecision } from '../runtime/saga.ts';
import type { CandidatesFound, DispatchCommand, DriverReserved, OfferDetails } from './dispatch-commands.ts';

/**
 * Dispatch (DOMAIN.md "Dispatch"), as a saga started by TripConfirmed:
 * 1. find the available drivers near the start (`FindCandidates`, answered by `CandidatesFound`);
 *    none → TripDispatchFailed(NO_DRIVERS_AVAILABLE);
 * 2. otherwise StartDispatch with them; once TripDispatchStarted is recorded, publish an offer to
 *    each and arm the first check (a durable deadline);
 * 3. at each check, pick the nearest accepting driver within the radius and reserve them on
 *    their own log (`ReserveDriver`: refused if another trip has them, however accepts race);
 *    reserved → AssignDriver, and once TripDriverAssigned is recorded every other candidate's
 *    offer closes as TAKEN; refused → the next nearest accepting driver; nobody → the next check,
 *    or after the last one TripDispatchFailed(NO_DRIVER_ACCEPTED);
 * 4. the driver is released when the trip finishes or is cancelled; a cancellation also stops an
 *    open dispatch (its check is cancelled, its offers close as CANCELLED).
 */
export interface DispatchConfig {
  radiusKm: number;
  checkIntervalMs: number;
  maxChecks: number;
}

export const defaultDispatchConfig: DispatchConfig = { radiusKm: 10, checkIntervalMs: 10_000, maxChecks: 3 };

export const DISPATCH_SAGA = 'dispatch';
export const dispatchSagaId = (tripId: string) => `${DISPATCH_SAGA}-${tripId}`;
export const checkDeadline = (n: number) => `check-${n}`;

export type DispatchInput = EventEnvelope<'trip'> | CandidatesFound | DriverReserved | CommandRejected<DispatchCommand> | DeadlineReached;

export interface DispatchRun {
  status: 'FINDING' | 'STARTING' | 'OFFERED' | 'RESERVING' | 'ASSIGNING' | 'ASSIGNED' | 'ENDED';
  sagaId: string;
  tripId: string;
  offer?: OfferDetails;
  candidates: string[];
  acceptances: DriverAcceptance[];
  /** Accepting drivers whose reservation was refused (another trip has them). */
  refused: string[];
  /** Checks reached so far. */
  checks: number;
  /** The driver being reserved now. */
  reserving?: string;
  /** The driver reserved for this trip. */
  driverId?: string;
  offersOpen: boolean;
  outcome?: 'ASSIGNED' | 'NO_DRIVERS_AVAILABLE' | 'NO_DRIVER_ACCEPTED' | 'CANCELLED' | 'FINISHED' | 'NOT_DISPATCHED';
}

export type DispatchState = { status: 'NOT_STARTED' } | DispatchRun;

type Decision = SagaDecision<DispatchState, DispatchCommand>;

export function createDispatchSaga(config: DispatchConfig): Saga<DispatchState, DispatchInput, DispatchCommand> {
  const stay = (state: DispatchState): Decision => ({ commands: [], state });

  /** Reserve the nearest accepting driver not refused yet; or wait for the next check; or fail. */
  function nextCandidate(run: DispatchRun): Decision {
    const chosen = run.offer && selectDriver(run.offer.start, run.acceptances, config.radiusKm, run.refused);
    const sagaId = run.sagaId;
    const tripId = run.tripId;
    if (chosen) {
      const { driverId } = chosen;
      return {
        commands: [{ type: 'ReserveDriver', sagaId, commandId: stepCommandId(sagaId, `reserve-${driverId}`), tripId, driverId }],
        state: { ...run, status: 'RESERVING', reserving: driverId },
      };
    }
    if (run.checks < config.maxChecks) {
      return { commands: [], schedule: [{ name: checkDeadline(run.checks + 1), afterMs: config.checkIntervalMs }], state: { ...run, status: 'OFFERED' } };
    }
    return {
      commands: [
        { type: 'FailDispatch', sagaId, commandId: stepCommandId(sagaId, 'fail'), tripId, reason: 'NO_DRIVER_ACCEPTED' },
        closeOffers(run, 'EXPIRED'),
      ],
      state: { ...run, status: 'ENDED', offersOpen: false, outcome: 'NO_DRIVER_ACCEPTED' },
      ended: true,
    };
  }

  function closeOffers(run: DispatchRun, status: 'TAKEN' | 'EXPIRED' | 'CANCELLED', assignedDriverId?: string): DispatchCommand {
    return {
      type: 'CloseOffers',
      sagaId: run.sagaId,
      commandId: stepCommandId(run.sagaId, 'close-offers'),
      tripId: run.tripId,
      driverIds: run.candidates,
      status,
      ...(assignedDriverId ? { assignedDriverId } : {}),
    };
  }

  const release = (run: DispatchRun, driverId: string): DispatchCommand => ({
    type: 'ReleaseDriver',
    sagaId: run.sagaId,
    commandId: stepCommandId(run.sagaId, `release-${driverId}`),
    tripId: run.tripId,
    driverId,
  });

  /** The trip is over for dispatch: stop the checks, close the offers, free whoever was taken. */
  function stop(run: DispatchRun, outcome: NonNullable<DispatchRun['outcome']>, offerStatus: 'EXPIRED' | 'CANCELLED'): Decision {
    const taken = run.driverId ?? run.reserving;
    const commands: DispatchCommand[] = [];
    if (run.offersOpen) commands.push(closeOffers(run, offerStatus));
    if (taken) commands.push(release(run, taken));
    const cancelDeadlines = run.status === 'OFFERED' ? [checkDeadline(run.checks + 1)] : [];
    return { commands, cancelDeadlines, state: { ...run, status: 'ENDED', offersOpen: false, outcome }, ended: true };
  }

  function onEvent(event: EventEnvelope<'trip'>, run: DispatchRun): Decision {
    switch (event.type) {
      case 'TripDispatchStarted': {
        if (run.status !== 'STARTING' || !run.offer) return stay(run);
        const candidates = event.data.candidateDriverIds;
        const expiresInMs = config.checkIntervalMs * config.maxChecks;
        return {
          commands: [{ type: 'PublishOffers', sagaId: run.sagaId, commandId: stepCommandId(run.sagaId, 'publish-offers'), offer: run.offer, driverIds: candidates, expiresInMs }],
          schedule: [{ name: checkDeadline(1), afterMs: config.checkIntervalMs }],
          state: { ...run, status: 'OFFERED', candidates, offersOpen: true },
        };
      }
      case 'DriverAcceptedTrip': {
        const { driverId, position } = event.data;
        if (run.acceptances.some((a) => a.driverId === driverId)) return stay(run);
        return stay({ ...run, acceptances: [...run.acceptances, { driverId, position }] });
      }
      case 'TripDriverAssigned': {
        if (run.status !== 'ASSIGNING' || event.data.driverId !== run.driverId) return stay(run);
        return { commands: [closeOffers(run, 'TAKEN', run.driverId)], state: { ...run, status: 'ASSIGNED', offersOpen: false, outcome: 'ASSIGNED' } };
      }
      case 'TripCancelled':
        return stop(run, 'CANCELLED', 'CANCELLED');
      case 'TripFinished':
        return stop(run, 'FINISHED', 'EXPIRED');
      case 'TripDispatchFailed':
        return stop(run, run.outcome ?? 'NO_DRIVER_ACCEPTED', 'EXPIRED');
      default:
        return stay(run);
    }
  }

  function onRejected(input: CommandRejected<DispatchCommand>, run: DispatchRun): Decision {
    const { command } = input;
    switch (command.type) {
      case 'ReserveDriver':
        if (run.status !== 'RESERVING' || run.reserving !== command.driverId) return stay(run);
        {
          const rest: DispatchRun = { ...run, refused: [...run.refused, command.driverId] };
          delete rest.reserving;
          return nextCandidate(rest);
        }
      case 'AssignDriver':
        // The trip moved on (cancelled) between the reservation and the assignment: free the driver.
        return stop(run, 'CANCELLED', 'CANCELLED');
      case 'FindCandidates':
      case 'StartDispatch':
        return { commands: [], state: { ...run, status: 'ENDED', outcome: 'NOT_DISPATCHED' }, ended: true };
      default:
        return stay(run);
    }
  }

  return {
    name: DISPATCH_SAGA,
    initialState: () => ({ status: 'NOT_STARTED' }),
    startedBy: (input) =>
      'aggregateType' in input && input.type === 'TripConfirmed'
        ? { sagaId: dispatchSagaId(input.data.tripId), associations: [`trip:${input.data.tripId}`] }
        : null,
    associationsOf: (input) => ('aggregateType' in input && input.aggregateType === 'trip' ? [`trip:${input.aggregateId}`] : []),
    decide(input, state): Decision {
      if (state.status === 'NOT_STARTED') {
        if (!('aggregateType' in input) || input.type !== 'TripConfirmed') return stay(state);
        const tripId = input.data.tripId;
        const sagaId = dispatchSagaId(tripId);
        return {
          commands: [{ type: 'FindCandidates', sagaId, commandId: stepCommandId(sagaId, 'find'), tripId }],
          state: { status: 'FINDING', sagaId, tripId, candidates: [], acceptances: [], refused: [], checks: 0, offersOpen: false },
        };
      }
      if (state.status === 'ENDED') return stay(state);
      const run = state;
      switch (input.type) {
        case 'CandidatesFound': {
          if (run.status !== 'FINDING') return stay(run);
          if (!input.trip) return { commands: [], state: { ...run, status: 'ENDED', outcome: 'NOT_DISPATCHED' }, ended: true };
          if (input.candidates.length === 0) {
            return {
              commands: [{ type: 'FailDispatch', sagaId: run.sagaId, commandId: stepCommandId(run.sagaId, 'fail'), tripId: run.tripId, reason: 'NO_DRIVERS_AVAILABLE' }],
              state: { ...run, status: 'ENDED', offer: input.trip, outcome: 'NO_DRIVERS_AVAILABLE' },
              ended: true,
            };
          }
          const candidateDriverIds = input.candidates.map((c) => c.driverId);
          return {
            commands: [{ type: 'StartDispatch', sagaId: run.sagaId, commandId: stepCommandId(run.sagaId, 'start'), tripId: run.tripId, candidateDriverIds }],
            state: { ...run, status: 'STARTING', offer: input.trip },
          };
        }
        case 'DeadlineReached': {
          const n = Number(input.name.replace(/^check-/, ''));
          if (run.status !== 'OFFERED' || input.name !== checkDeadline(run.checks + 1)) return stay(run);
          return nextCandidate({ ...run, checks: n });
        }
        case 'DriverReserved': {
          if (run.status !== 'RESERVING' || run.reserving !== input.driverId) return stay(run);
          const next: DispatchRun = { ...run, status: 'ASSIGNING', driverId: input.driverId };
          delete next.reserving;
          return {
            commands: [{ type: 'AssignDriver', sagaId: run.sagaId, commandId: stepCommandId(run.sagaId, 'assign'), tripId: run.tripId, driverId: input.driverId }],
            state: next,
          };
        }
        case 'CommandRejected':
          return onRejected(input, run);
        default:
          return 'aggregateType' in input ? onEvent(input, run) : stay(run);
      }
    },
  };
}
