import type { EventEnvelope } from '@happyride/eventstore';
import type { SagaCommand } from '../runtime/commands.ts';
import { stepCommandId, type CommandRejected, type Saga, type SagaDecision } from '../runtime/saga.ts';

/**
 * The payment's part of the cancellation choreography (DOMAIN.md "Processes"): on
 * `TripCancelled`, a paid payment is refunded. Started by the event, it sends one command,
 * `RefundPaidPayment`, and ends when the refund is recorded or the command finds nothing to do.
 *
 * Ownership, so the two sagas never both refund: while the trip is being created (never
 * confirmed), the trip creation saga compensates a cancellation itself (it refunds what it
 * paid); once the trip was confirmed, the creation saga has ended and this one refunds. The
 * output handler checks which case it is from the trip's own log, with the payment's state, at
 * the moment it acts. The command id is derived from the trip, so a repeat is deduplicated.
 */
export const TRIP_CANCELLATION_SAGA = 'trip-cancellation';
export const tripCancellationSagaId = (tripId: string) => `${TRIP_CANCELLATION_SAGA}-${tripId}`;

export type TripCancellationInput = EventEnvelope<'trip' | 'payment'> | CommandRejected<SagaCommand>;

export interface TripCancellationRun {
  status: 'RUNNING' | 'ENDED';
  sagaId: string;
  tripId: string;
  paymentId: string;
  outcome?: 'REFUNDED' | 'NOTHING_TO_REFUND';
  /** Why there was nothing to refund (not paid, or refunded by the creation saga). */
  note?: string;
}

export type TripCancellationState = { status: 'NOT_STARTED' } | TripCancellationRun;

type Decision = SagaDecision<TripCancellationState, SagaCommand>;

const end = (run: TripCancellationRun, outcome: TripCancellationRun['outcome'], note?: string): Decision => ({
  commands: [],
  state: { ...run, status: 'ENDED', outcome, ...(note === undefined ? {} : { note }) },
  ended: true,
});

export function createTripCancellationSaga(): Saga<TripCancellationState, TripCancellationInput, SagaCommand> {
  return {
    name: TRIP_CANCELLATION_SAGA,
    initialState: () => ({ status: 'NOT_STARTED' }),
    startedBy: (input) => {
      if (!('eventId' in input) || input.type !== 'TripCancelled') return null;
      const { tripId } = input.data;
      // The trip creation saga derives the payment id from the trip id.
      return { sagaId: tripCancellationSagaId(tripId), associations: [`payment:${tripId}`] };
    },
    associationsOf: (input) => ('eventId' in input ? [`${input.aggregateType}:${input.aggregateId}`] : []),
    decide(input, state): Decision {
      if (state.status === 'ENDED') return { commands: [], state };
      if (state.status === 'NOT_STARTED') {
        if (!('eventId' in input) || input.type !== 'TripCancelled') return { commands: [], state };
        const { tripId, reason } = input.data;
        const sagaId = tripCancellationSagaId(tripId);
        const run: TripCancellationRun = { status: 'RUNNING', sagaId, tripId, paymentId: tripId };
        const refund: SagaCommand = {
          type: 'RefundPaidPayment',
          sagaId,
          commandId: stepCommandId(sagaId, 'refund-paid-payment'),
          tripId,
          paymentId: run.paymentId,
          reason: `The trip was cancelled: ${reason}`.slice(0, 500),
        };
        return { commands: [refund], state: run };
      }
      if ('eventId' in input) return input.type === 'PaymentRefunded' ? end(state, 'REFUNDED') : { commands: [], state };
      return end(state, 'NOTHING_TO_REFUND', input.reason);
    },
  };
}
