import type { EventEnvelope } from '@happyride/eventstore';
import type { SagaCommand } from '../runtime/commands.ts';
import { stepCommandId, type CommandRejected, type Saga, type SagaDecision } from '../runtime/saga.ts';

/**
 * The payment's part of every end of a trip after its confirmation (DOMAIN.md "Money is
 * conserved"): on `TripFinished`, the fare is charged if nobody charged it yet (`ChargeFinishedTrip`:
 * a fare at or below `PAYMENT_REQUIRED_ABOVE` is only charged here); on `TripCancelled` or
 * `TripDispatchFailed` (either reason), a paid payment is refunded (`RefundPaidPayment`). Started
 * by the end event, it sends that one command, and ends when the payment's outcome is recorded
 * (paid, declined: the passenger owes the fare, refunded) or the command finds nothing to do.
 *
 * Ownership, so two sagas never both charge or refund (`settleOnTripEnd` in `settle-rule.ts`,
 * pure): while the trip is being created (never confirmed), the trip creation saga settles the
 * payment itself; once the trip was confirmed, the creation saga has ended and this one settles.
 * The output handler reads the trip's and the payment's logs at the moment it acts and applies
 * the rule. A trip ends once, so one instance per trip; the command id is derived from the trip,
 * so a repeat is deduplicated, and it is the charge's idempotency key at the provider.
 */
export const SETTLE_TRIP_END_SAGA = 'settle-trip-end';
export const settleTripEndSagaId = (tripId: string) => `${SETTLE_TRIP_END_SAGA}-${tripId}`;
/** The steps: one per instance, by how the trip ended. */
export const CHARGE_FARE_STEP = 'charge-fare';
export const REFUND_PAID_PAYMENT_STEP = 'refund-paid-payment';

export type SettleTripEndInput = EventEnvelope<'trip' | 'payment'> | CommandRejected<SagaCommand>;

/** The trip events that end a confirmed trip. */
type EndEvent = Extract<EventEnvelope<'trip'>, { type: 'TripFinished' | 'TripCancelled' | 'TripDispatchFailed' }>;

export interface SettleTripEndRun {
  status: 'RUNNING' | 'ENDED';
  sagaId: string;
  tripId: string;
  paymentId: string;
  /** What the end asks of the payment: its fare charged (FINISHED), or its charge given back. */
  settles: 'CHARGE' | 'REFUND';
  /** `OWED`: the charge at finish was declined; the passenger owes the fare (the payment is DECLINED). */
  outcome?: 'CHARGED' | 'OWED' | 'REFUNDED' | 'NOTHING_TO_DO';
  /** Why there was nothing to do, or why the charge was declined. */
  note?: string;
}

export type SettleTripEndState = { status: 'NOT_STARTED' } | SettleTripEndRun;

type Decision = SagaDecision<SettleTripEndState, SagaCommand>;

const isEnd = (input: SettleTripEndInput): input is EndEvent =>
  'eventId' in input && (input.type === 'TripFinished' || input.type === 'TripCancelled' || input.type === 'TripDispatchFailed');

/** Why the trip ended unfinished, as the refund's reason (at most 500 characters). */
function reasonOf(event: Exclude<EndEvent, { type: 'TripFinished' }>): string {
  const why = event.type === 'TripCancelled' ? `The trip was cancelled: ${event.data.reason}` : `No driver could be found for the trip (${event.data.reason}).`;
  return why.slice(0, 500);
}

const end = (run: SettleTripEndRun, outcome: SettleTripEndRun['outcome'], note?: string): Decision => ({
  commands: [],
  state: { ...run, status: 'ENDED', outcome, ...(note === undefined ? {} : { note }) },
  ended: true,
});

function begin(event: EndEvent): Decision {
  const { tripId } = event.data;
  const sagaId = settleTripEndSagaId(tripId);
  // The trip creation saga derives the payment id from the trip id.
  const paymentId = tripId;
  if (event.type === 'TripFinished') {
    const charge: SagaCommand = { type: 'ChargeFinishedTrip', sagaId, commandId: stepCommandId(sagaId, CHARGE_FARE_STEP), tripId, paymentId };
    return { commands: [charge], state: { status: 'RUNNING', sagaId, tripId, paymentId, settles: 'CHARGE' } };
  }
  const refund: SagaCommand = { type: 'RefundPaidPayment', sagaId, commandId: stepCommandId(sagaId, REFUND_PAID_PAYMENT_STEP), tripId, paymentId, reason: reasonOf(event) };
  return { commands: [refund], state: { status: 'RUNNING', sagaId, tripId, paymentId, settles: 'REFUND' } };
}

export function createSettleTripEndSaga(): Saga<SettleTripEndState, SettleTripEndInput, SagaCommand> {
  return {
    name: SETTLE_TRIP_END_SAGA,
    initialState: () => ({ status: 'NOT_STARTED' }),
    startedBy: (input) => {
      if (!isEnd(input)) return null;
      const { tripId } = input.data;
      return { sagaId: settleTripEndSagaId(tripId), associations: [`payment:${tripId}`] };
    },
    associationsOf: (input) => ('eventId' in input ? [`${input.aggregateType}:${input.aggregateId}`] : []),
    decide(input, state): Decision {
      if (state.status === 'ENDED') return { commands: [], state };
      if (state.status === 'NOT_STARTED') return isEnd(input) ? begin(input) : { commands: [], state };
      if (!('eventId' in input)) return end(state, 'NOTHING_TO_DO', input.reason);
      if (state.settles === 'CHARGE' && input.type === 'PaymentPaid') return end(state, 'CHARGED');
      if (state.settles === 'CHARGE' && input.type === 'PaymentDeclined') return end(state, 'OWED', input.data.reason);
      if (state.settles === 'REFUND' && input.type === 'PaymentRefunded') return end(state, 'REFUNDED');
      return { commands: [], state };
    },
  };
}
