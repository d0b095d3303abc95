import type { EventEnvelope } from '@happyride/eventstore';
import type { SagaCommand } from '../runtime/commands.ts';
import { stepCommandId, type CommandRejected, type Saga, type SagaDecision } from '../runtime/saga.ts';

/**
 * The payment's part of every end of a trip that will never be finished after its confirmation
 * (DOMAIN.md "Money is conserved"): on `TripCancelled` or `TripDispatchFailed` (either reason), a
 * paid payment is refunded. Started by the event, it sends one command, `RefundPaidPayment`, and
 * ends when the refund is recorded or the command finds nothing to do.
 *
 * Ownership, so two sagas never both refund (`refundOnTripEnd` in `refund-rule.ts`, pure): while
 * the trip is being created (never confirmed), the trip creation saga compensates a cancellation
 * itself (it refunds what it paid, and it alone rejects a trip); once the trip was confirmed, the
 * creation saga has ended and this one refunds. The output handler reads the trip's and the
 * payment's logs at the moment it acts and applies the rule. A trip ends once (a cancelled trip
 * cannot fail dispatch, a failed one cannot be cancelled), so one instance per trip; the command
 * id is derived from the trip, so a repeat is deduplicated.
 */
export const REFUND_UNFINISHED_TRIP_SAGA = 'refund-unfinished-trip';
export const refundUnfinishedTripSagaId = (tripId: string) => `${REFUND_UNFINISHED_TRIP_SAGA}-${tripId}`;

export type RefundUnfinishedTripInput = EventEnvelope<'trip' | 'payment'> | CommandRejected<SagaCommand>;

/** The trip events after which a confirmed trip will never be finished. */
type EndEvent = Extract<EventEnvelope<'trip'>, { type: 'TripCancelled' | 'TripDispatchFailed' }>;

export interface RefundUnfinishedTripRun {
  status: 'RUNNING' | 'ENDED';
  sagaId: string;
  tripId: string;
  paymentId: string;
  outcome?: 'REFUNDED' | 'NOTHING_TO_REFUND';
  /** Why there was nothing to refund (not paid, or refunded by the creation saga). */
  note?: string;
}

export type RefundUnfinishedTripState = { status: 'NOT_STARTED' } | RefundUnfinishedTripRun;

type Decision = SagaDecision<RefundUnfinishedTripState, SagaCommand>;

const isEnd = (input: RefundUnfinishedTripInput): input is EndEvent =>
  'eventId' in input && (input.type === 'TripCancelled' || input.type === 'TripDispatchFailed');

/** Why the trip ended, as the refund's reason (at most 500 characters). */
function reasonOf(event: EndEvent): string {
  const why = event.type === 'TripCancelled' ? `The trip was cancelled: ${event.data.reason}` : `No driver could be found for the trip (${event.data.reason}).`;
  return why.slice(0, 500);
}

const end = (run: RefundUnfinishedTripRun, outcome: RefundUnfinishedTripRun['outcome'], note?: string): Decision => ({
  commands: [],
  state: { ...run, status: 'ENDED', outcome, ...(note === undefined ? {} : { note }) },
  ended: true,
});

export function createRefundUnfinishedTripSaga(): Saga<RefundUnfinishedTripState, RefundUnfinishedTripInput, SagaCommand> {
  return {
    name: REFUND_UNFINISHED_TRIP_SAGA,
    initialState: () => ({ status: 'NOT_STARTED' }),
    startedBy: (input) => {
      if (!isEnd(input)) return null;
      const { tripId } = input.data;
      // The trip creation saga derives the payment id from the trip id.
      return { sagaId: refundUnfinishedTripSagaId(tripId), associations: [`payment:${tripId}`] };
    },
    associationsOf: (input) => ('eventId' in input ? [`${input.aggregateType}:${input.aggregateId}`] : []),
    decide(input, state): Decision {
      if (state.status === 'ENDED') return { commands: [], state };
      if (state.status === 'NOT_STARTED') {
        if (!isEnd(input)) return { commands: [], state };
        const { tripId } = input.data;
        const sagaId = refundUnfinishedTripSagaId(tripId);
        const run: RefundUnfinishedTripRun = { status: 'RUNNING', sagaId, tripId, paymentId: tripId };
        const refund: SagaCommand = {
          type: 'RefundPaidPayment',
          sagaId,
          commandId: stepCommandId(sagaId, 'refund-paid-payment'),
          tripId,
          paymentId: run.paymentId,
          reason: reasonOf(input),
        };
        return { commands: [refund], state: run };
      }
      if ('eventId' in input) return input.type === 'PaymentRefunded' ? end(state, 'REFUNDED') : { commands: [], state };
      return end(state, 'NOTHING_TO_REFUND', input.reason);
    },
  };
}
