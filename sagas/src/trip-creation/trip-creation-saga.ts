import { MAX_REASON_LENGTH, UnreachableCaseError } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import type { PassengerChecked, SagaCommand } from '../runtime/commands.ts';
import { stepCommandId, type CommandRejected, type DeadlineReached, type Deadline, type Saga, type SagaDecision } from '../runtime/saga.ts';

/**
 * The trip creation saga, orchestrated (DOMAIN.md "Processes"):
 * 1. the trip exists in CREATED (TripCreated starts the saga); compensation: reject the trip;
 * 2. validate: distance within `maxDistanceKm` (known from TripCreated), passenger registered and
 *    not banned (asked with `CheckPassenger`, answered by a `PassengerChecked` input);
 * 3. create the payment for the fare; compensation: cancel it (or refund it once paid);
 * 4. only if the fare is above `paymentRequiredAbove`: pay it, with a `PAYMENT_TIMEOUT` deadline;
 *    a decline or the timeout marks the saga unpaid; the CancelPayment that follows a tried
 *    charge carries its key, so the provider is asked first and a charge it made after all is
 *    recorded paid, then refunded (never left behind a cancelled payment);
 * 5. confirm the trip, or run the compensations of the completed steps in reverse: the payment
 *    first, the trip last (a rejected trip leaves no dangling payment).
 *
 * Isolation: a passenger may cancel while the saga pays. ConfirmTrip re-checks the trip's state
 * atomically (its decider refuses a trip that is not CREATED); that refusal, or a TripCancelled
 * seen first, turns the saga to compensation: what was paid is refunded, nothing is confirmed.
 *
 * The state is a set of facts learnt from inputs; `plan` derives what to send next from them,
 * and `sent` records each step sent, so no step is ever sent twice, whatever repeats.
 */
export interface TripCreationConfig {
  maxDistanceKm: number;
  /** A fare strictly above this is paid during creation; at or below, the payment is only created. */
  paymentRequiredAbove: number;
  /** How long the saga waits for the payment's outcome before it gives up and compensates. */
  paymentTimeoutMs: number;
}

export const defaultTripCreationConfig: TripCreationConfig = { maxDistanceKm: 100, paymentRequiredAbove: 100, paymentTimeoutMs: 30_000 };

export const PAYMENT_TIMEOUT = 'PAYMENT_TIMEOUT';
export const TRIP_CREATION_SAGA = 'trip-creation';

export const tripCreationSagaId = (tripId: string) => `${TRIP_CREATION_SAGA}-${tripId}`;

/** The steps, in order; each sends one command, at most once per instance. */
export const tripCreationSteps = ['check-passenger', 'create-payment', 'pay-payment', 'confirm-trip', 'cancel-payment', 'refund-payment', 'reject-trip'] as const;
export type TripCreationStep = (typeof tripCreationSteps)[number];

export type TripCreationInput =
  | EventEnvelope<'trip' | 'payment'>
  | PassengerChecked
  | CommandRejected<SagaCommand>
  | DeadlineReached;

/** What the saga knows of the trip: its recorded state, or that the saga's command on it was refused. */
type TripFact = 'CREATED' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED' | 'CONFIRM_REFUSED' | 'REJECT_REFUSED';
/** What the saga knows of the payment; `NONE` until PaymentCreated, `STUCK` when its compensation was refused. */
type PaymentFact = 'NONE' | 'CREATED' | 'PAID' | 'DECLINED' | 'CANCELLED' | 'REFUNDED' | 'CREATE_REFUSED' | 'STUCK';

export interface TripCreationRun {
  status: 'RUNNING' | 'ENDED';
  sagaId: string;
  tripId: string;
  passengerId: string;
  paymentId: string;
  fare: number;
  distanceKm: number;
  paymentRequired: boolean;
  passenger: 'UNCHECKED' | 'OK' | 'BANNED' | 'UNKNOWN';
  trip: TripFact;
  payment: PaymentFact;
  /** PayPayment was sent and no outcome (nor the timeout) has come yet. */
  paying: boolean;
  deadlineArmed: boolean;
  /** Why the saga compensates; set once, by the first failure. */
  failure?: string;
  /** The payment was declined or timed out. */
  unpaid: boolean;
  sent: TripCreationStep[];
  /** Refusals the saga could not compensate (a refund refused): for an operator. */
  problems: string[];
  outcome?: 'CONFIRMED' | 'COMPENSATED';
}

export type TripCreationState = { status: 'NOT_STARTED' } | TripCreationRun;

type Decision = SagaDecision<TripCreationState, SagaCommand>;

const nothing = (state: TripCreationState): Decision => ({ commands: [], state });

function start(input: TripCreationInput, config: TripCreationConfig): TripCreationRun | null {
  if (!('eventId' in input) || input.type !== 'TripCreated') return null;
  const { tripId, passengerId, fare, distanceKm } = input.data;
  const run: TripCreationRun = {
    status: 'RUNNING',
    sagaId: tripCreationSagaId(tripId),
    tripId,
    passengerId,
    paymentId: tripId,
    fare,
    distanceKm,
    paymentRequired: fare > config.paymentRequiredAbove,
    passenger: 'UNCHECKED',
    trip: 'CREATED',
    payment: 'NONE',
    paying: false,
    deadlineArmed: false,
    unpaid: false,
    sent: [],
    problems: [],
  };
  if (distanceKm > config.maxDistanceKm) {
    run.failure = `The trip is ${distanceKm} km long; at most ${config.maxDistanceKm} km is allowed.`;
  }
  return run;
}

const fail = (run: TripCreationRun, why: string): TripCreationRun => (run.failure === undefined ? { ...run, failure: why } : run);

/** Learns from one input: the saga's `evolve`. Inputs about other trips never reach here. */
function learn(run: TripCreationRun, input: TripCreationInput, config: TripCreationConfig): TripCreationRun {
  if ('eventId' in input) {
    switch (input.type) {
      case 'TripCreated':
        return run;
      case 'TripConfirmed':
        return { ...run, trip: 'CONFIRMED' };
      case 'TripRejected':
        return { ...run, trip: 'REJECTED' };
      case 'TripCancelled':
        return fail({ ...run, trip: 'CANCELLED' }, `The trip was cancelled: ${input.data.reason}`);
      case 'PaymentCreated':
        return { ...run, payment: 'CREATED' };
      case 'PaymentPaid':
        return { ...run, payment: 'PAID', paying: false };
      case 'PaymentDeclined':
        return fail({ ...run, payment: 'DECLINED', paying: false, unpaid: true }, `The payment was declined: ${input.data.reason}`);
      case 'PaymentCancelled':
        return { ...run, payment: 'CANCELLED', paying: false };
      case 'PaymentRefunded':
        return { ...run, payment: 'REFUNDED' };
      default:
        return run; // later trip events (dispatch, ...) are not this saga's business
    }
  }
  switch (input.type) {
    case 'PassengerChecked': {
      if (!input.registered) return fail({ ...run, passenger: 'UNKNOWN' }, `Passenger ${run.passengerId} is not registered.`);
      if (input.banned) return fail({ ...run, passenger: 'BANNED' }, `Passenger ${run.passengerId} is banned.`);
      return { ...run, passenger: 'OK' };
    }
    case 'DeadlineReached': {
      if (input.name !== PAYMENT_TIMEOUT || !run.paying) return run;
      const seconds = config.paymentTimeoutMs / 1000;
      return fail({ ...run, paying: false, deadlineArmed: false, unpaid: true }, `The payment did not complete within ${seconds} s.`);
    }
    case 'CommandRejected':
      return learnRefusal(run, input);
    default:
      throw new UnreachableCaseError(input);
  }
}

function learnRefusal(run: TripCreationRun, { command, reason }: CommandRejected<SagaCommand>): TripCreationRun {
  switch (command.type) {
    case 'ConfirmTrip':
      // The re-check at confirmation: the trip moved on (the passenger cancelled it) meanwhile.
      return fail({ ...run, trip: 'CONFIRM_REFUSED' }, `The trip could not be confirmed: ${reason}`);
    case 'RejectTrip':
      return { ...run, trip: 'REJECT_REFUSED' };
    case 'CreatePayment':
      return fail({ ...run, payment: 'CREATE_REFUSED' }, `The payment could not be created: ${reason}`);
    case 'PayPayment':
      // Its outcome could not be recorded: the payment was cancelled after the timeout. The
      // payment's own events say where it is.
      return { ...run, paying: false };
    case 'CancelPayment':
      // Paid meanwhile: PaymentPaid (before or after this) makes the plan refund it.
      return run;
    case 'RefundPayment':
      return { ...run, payment: 'STUCK', problems: [...run.problems, `Refund refused: ${reason}`] };
    case 'CheckPassenger':
      return fail(run, `The passenger could not be checked: ${reason}`);
    case 'RefundPaidPayment':
    case 'ChargeFinishedTrip':
      return run; // the settle-trip-end saga's commands, never this one's
    default:
      throw new UnreachableCaseError(command);
  }
}

const paymentSettled = (run: TripCreationRun) =>
  run.payment === 'CANCELLED' ||
  run.payment === 'REFUNDED' ||
  run.payment === 'STUCK' ||
  run.payment === 'CREATE_REFUSED' ||
  (run.payment === 'NONE' && !run.sent.includes('create-payment'));

const tripSettled = (run: TripCreationRun) => run.trip !== 'CREATED';

/** The steps the facts call for now, in order (sent ones are filtered out by the caller). */
function plan(run: TripCreationRun): TripCreationStep[] {
  if (run.failure === undefined) {
    if (run.trip !== 'CREATED') return [];
    if (run.passenger === 'UNCHECKED') return ['check-passenger'];
    if (run.payment === 'NONE') return ['create-payment'];
    if (run.payment === 'CREATED') return run.paymentRequired ? ['pay-payment'] : ['confirm-trip'];
    if (run.payment === 'PAID') return ['confirm-trip'];
    return [];
  }
  // Compensation, in reverse order of the steps: the payment first, then the trip.
  const steps: TripCreationStep[] = [];
  if (run.payment === 'PAID') steps.push('refund-payment');
  else if ((run.payment === 'CREATED' && !run.paying) || run.payment === 'DECLINED') steps.push('cancel-payment');
  if (paymentSettled(run) && run.trip === 'CREATED') steps.push('reject-trip');
  return steps;
}

/** Reasons end up in RejectTrip / CancelPayment, which accept at most 500 characters. */
const clip = (text: string) => ([...text].length <= MAX_REASON_LENGTH ? text : `${[...text].slice(0, MAX_REASON_LENGTH - 1).join('')}…`);

function command(run: TripCreationRun, step: TripCreationStep): SagaCommand {
  const { sagaId, tripId, paymentId, passengerId, fare: amount } = run;
  const commandId = stepCommandId(sagaId, step);
  const reason = clip(run.failure ?? 'The trip could not be created.');
  switch (step) {
    case 'check-passenger':
      return { type: 'CheckPassenger', sagaId, commandId, passengerId };
    case 'create-payment':
      return { type: 'CreatePayment', sagaId, commandId, paymentId, tripId, passengerId, amount };
    case 'pay-payment':
      return { type: 'PayPayment', sagaId, commandId, paymentId, passengerId, amount };
    case 'confirm-trip':
      return { type: 'ConfirmTrip', sagaId, commandId, tripId };
    case 'cancel-payment': {
      // A charge was tried (and timed out): the provider is asked before the payment is cancelled.
      const tried = run.sent.includes('pay-payment');
      return { type: 'CancelPayment', sagaId, commandId, paymentId, reason, ...(tried ? { chargeKey: stepCommandId(sagaId, 'pay-payment') } : {}) };
    }
    case 'refund-payment':
      return { type: 'RefundPayment', sagaId, commandId, paymentId, reason };
    case 'reject-trip':
      return { type: 'RejectTrip', sagaId, commandId, tripId, reason };
    default:
      throw new UnreachableCaseError(step);
  }
}

/** The trip creation saga for a configuration. */
export function createTripCreationSaga(config: TripCreationConfig = defaultTripCreationConfig): Saga<TripCreationState, TripCreationInput, SagaCommand> {
  return {
    name: TRIP_CREATION_SAGA,
    initialState: () => ({ status: 'NOT_STARTED' }),
    startedBy: (input) => {
      if (!('eventId' in input) || input.type !== 'TripCreated') return null;
      const { tripId } = input.data;
      return { sagaId: tripCreationSagaId(tripId), associations: [`trip:${tripId}`, `payment:${tripId}`] };
    },
    associationsOf: (input) => ('eventId' in input ? [`${input.aggregateType}:${input.aggregateId}`] : []),
    decide(input, state) {
      if (state.status === 'ENDED') return nothing(state);
      const before = state.status === 'NOT_STARTED' ? start(input, config) : state;
      if (before === null) return nothing(state);
      const run = learn(before, input, config);

      const steps = plan(run).filter((step) => !run.sent.includes(step));
      const schedule: Deadline[] = [];
      let next: TripCreationRun = { ...run, sent: [...run.sent, ...steps] };
      if (steps.includes('pay-payment')) {
        next = { ...next, paying: true, deadlineArmed: true };
        schedule.push({ name: PAYMENT_TIMEOUT, afterMs: config.paymentTimeoutMs });
      }

      const confirmed = next.trip === 'CONFIRMED';
      const compensated = next.failure !== undefined && tripSettled(next) && paymentSettled(next);
      const ended = confirmed || compensated;
      const cancelDeadlines = next.deadlineArmed && (ended || !next.paying) ? [PAYMENT_TIMEOUT] : [];
      if (cancelDeadlines.length > 0) next = { ...next, deadlineArmed: false };
      if (ended) next = { ...next, status: 'ENDED', outcome: confirmed ? 'CONFIRMED' : 'COMPENSATED' };

      return {
        commands: steps.map((step) => command(next, step)),
        state: next,
        ...(schedule.length > 0 ? { schedule } : {}),
        ...(cancelDeadlines.length > 0 ? { cancelDeadlines } : {}),
        ...(ended ? { ended } : {}),
      };
    },
  };
}
