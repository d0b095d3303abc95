import {
  DomainError,
  fold,
  passengerDecider,
  paymentDecider,
  tripDecider,
  UnreachableCaseError,
  type Actor,
  type CommandMetadata,
  type Decider,
  type TripCommand,
  type TripEvent,
  type TripState,
} from '@happyride/domain';
import { handleCommand, type EventStore } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';
import type { PaymentProvider } from '../payments/simulated-provider.ts';
import { systemClock, type Clock } from './clock.ts';
import { passengerChecked, type PassengerChecked, type SagaCommand } from './commands.ts';
import type { PendingCommand } from './mongo-saga-store.ts';
import type { CommandExecutor } from './runner.ts';
import { commandRejected, type CommandRejected } from './saga.ts';

/** The actor of every command a saga sends: internal, never from a token. */
export const SYSTEM_ACTOR: Actor = { id: 'system', role: 'system' };

export interface OutputHandlerOptions {
  store: EventStore;
  provider: PaymentProvider;
  clock?: Clock;
  /** Only ConfirmTrip and RejectTrip are sent, so the pricing does not matter. */
  trips?: Decider<TripCommand, TripEvent, TripState>;
  /** A provider that has not answered within this long failed: the command is tried again later. */
  chargeTimeoutMs?: number;
  logger?: Logger;
}

export type SagaOutcomeInput = PassengerChecked | CommandRejected<SagaCommand>;

/**
 * The I/O of the sagas: each command becomes a `handleCommand` on its aggregate (trip or
 * payment) with the `system` actor and the saga's command id, a read of the passenger's log,
 * or a provider charge recorded with RecordPaymentResult. A domain refusal becomes a
 * `CommandRejected` input; infrastructure errors are thrown (the command stays in the outbox).
 */
export function createOutputHandler({
  store,
  provider,
  clock = systemClock,
  trips = tripDecider,
  chargeTimeoutMs = 10_000,
  logger,
}: OutputHandlerOptions): CommandExecutor<SagaOutcomeInput, SagaCommand> {
  const metadata = (commandId: string): CommandMetadata => ({ commandId, actor: SYSTEM_ACTOR, now: clock.now().toISOString() });

  return async function execute(command: PendingCommand<SagaCommand>, { correlationId }): Promise<SagaOutcomeInput | null> {
    const context = { correlationId, causationId: command.causationId };
    const { commandId } = command;
    try {
      switch (command.type) {
        case 'CheckPassenger': {
          const history = await store.read('passenger', command.passengerId);
          const passenger = fold(passengerDecider, history.events);
          const registered = passenger.status === 'registered';
          return passengerChecked(command, registered, registered && passenger.banned);
        }
        case 'ConfirmTrip':
          await handleCommand(store, 'trip', command.tripId, trips, { type: 'ConfirmTrip', data: { tripId: command.tripId }, metadata: metadata(commandId) }, context);
          return null;
        case 'RejectTrip': {
          const { tripId, reason } = command;
          await handleCommand(store, 'trip', tripId, trips, { type: 'RejectTrip', data: { tripId, reason }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'CreatePayment': {
          const { paymentId, tripId, passengerId, amount } = command;
          const data = { paymentId, tripId, passengerId, amount };
          await handleCommand(store, 'payment', paymentId, paymentDecider, { type: 'CreatePayment', data, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'PayPayment':
          return await pay(command, context);
        case 'CancelPayment': {
          const { paymentId, reason } = command;
          await handleCommand(store, 'payment', paymentId, paymentDecider, { type: 'CancelPayment', data: { paymentId, reason }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'RefundPayment': {
          const { paymentId, reason } = command;
          await handleCommand(store, 'payment', paymentId, paymentDecider, { type: 'RefundPayment', data: { paymentId, reason }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'RefundPaidPayment':
          return await refundPaid(command, context);
        default:
          throw new UnreachableCaseError(command);
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      logger?.info({ sagaId: command.sagaId, commandId, kind: error.kind, reason: error.message }, 'saga command refused');
      return commandRejected<SagaCommand>(command, error.kind, error.message);
    }
  };

  /**
   * Charges once per command id: a payment whose result is recorded already, or that is no
   * longer CREATED (cancelled after a timeout), is not charged again.
   */
  async function pay(command: Extract<SagaCommand, { type: 'PayPayment' }>, context: { correlationId: string; causationId: string }): Promise<SagaOutcomeInput | null> {
    const { paymentId, passengerId, amount, commandId } = command;
    const history = await store.read('payment', paymentId);
    if (history.commits.has(commandId)) return null; // recorded before a crash: the event is in the log
    const payment = fold(paymentDecider, history.events);
    if (payment.status !== 'CREATED') {
      return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', `Payment ${paymentId} is ${payment.status}: it was not charged.`);
    }
    const result = await withTimeout(provider.charge({ idempotencyKey: commandId, paymentId, passengerId, amount }), chargeTimeoutMs, 'the payment provider');
    const data =
      result.outcome === 'PAID'
        ? { paymentId, outcome: 'PAID' as const, providerReference: result.providerReference }
        : { paymentId, outcome: 'DECLINED' as const, reason: result.reason };
    try {
      await handleCommand(store, 'payment', paymentId, paymentDecider, { type: 'RecordPaymentResult', data, metadata: metadata(commandId) }, context);
      return null;
    } catch (error) {
      // Cancelled between the read and the record: give the money back at the provider.
      if (error instanceof DomainError && result.outcome === 'PAID') await provider.refund(commandId);
      throw error;
    }
  }

  /**
   * The cancellation saga's refund: only a PAID payment of a trip that was confirmed before its
   * cancellation (earlier, the trip creation saga compensates). Read from the logs as they are now.
   */
  async function refundPaid(command: Extract<SagaCommand, { type: 'RefundPaidPayment' }>, context: { correlationId: string; causationId: string }): Promise<SagaOutcomeInput | null> {
    const { tripId, paymentId, reason, commandId } = command;
    const trip = await store.read('trip', tripId);
    if (!trip.events.some((event) => event.type === 'TripConfirmed')) {
      return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', `Trip ${tripId} was cancelled before it was confirmed: the trip creation saga settles its payment.`);
    }
    const history = await store.read('payment', paymentId);
    if (history.commits.has(commandId)) return null; // refunded before a crash: the event is in the log
    const payment = fold(paymentDecider, history.events);
    if (payment.status !== 'PAID') return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', `Payment ${paymentId} is ${payment.status}: nothing to refund.`);
    await handleCommand(store, 'payment', paymentId, paymentDecider, { type: 'RefundPayment', data: { paymentId, reason }, metadata: metadata(commandId) }, context);
    return null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms.`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
