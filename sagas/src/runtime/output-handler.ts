import {
  DomainError,
  fold,
  illegalState,
  passengerDecider,
  paymentDecider,
  tripDecider,
  UnreachableCaseError,
  type CommandMetadata,
  type Decider,
  type Payment,
  type TripCommand,
  type TripEvent,
  type TripState,
} from '@happyride/domain';
import { commandHandler, type EventStore } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';
import { refundKeyOf, type PaymentProvider } from '../payments/provider.ts';
import { settleLateCharge } from '../payments/late-charges.ts';
import { settleOnTripEnd } from '../trip-end/settle-rule.ts';
import { systemClock, type Clock } from './clock.ts';
import { passengerChecked, type PassengerChecked, type SagaCommand } from './commands.ts';
import type { PendingCommand } from './mongo-saga-store.ts';
import type { CommandExecutor } from './runner.ts';
import { commandRejected, type CommandRejected } from './saga.ts';
import { SYSTEM_ACTOR } from './system-actor.ts';


export interface OutputHandlerOptions {
  store: EventStore;
  provider: PaymentProvider;
  clock?: Clock;
  /** Only ConfirmTrip and RejectTrip are sent, so the pricing does not matter. */
  trips?: Decider<TripCommand, TripEvent, TripState>;
  /** A provider that has not answered within this long failed: the command is tried again later. */
  chargeTimeoutMs?: number;
  /** ISO 4217, lower case: the currency of every charge. */
  currency?: string;
  logger?: Logger;
}

export type SagaOutcomeInput = PassengerChecked | CommandRejected<SagaCommand>;

type Context = { correlationId: string; causationId: string };

/**
 * The I/O of the sagas: each command goes to its aggregate's command handler (trip or
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
  currency = 'eur',
  logger,
}: OutputHandlerOptions): CommandExecutor<SagaOutcomeInput, SagaCommand> {
  const metadata = (commandId: string): CommandMetadata => ({ commandId, actor: SYSTEM_ACTOR, now: clock.now().toISOString() });
  const tripCommands = commandHandler({ store, aggregateType: 'trip', decider: trips });
  const paymentCommands = commandHandler({ store, aggregateType: 'payment', decider: paymentDecider });

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
          await tripCommands(command.tripId, { type: 'ConfirmTrip', data: { tripId: command.tripId }, metadata: metadata(commandId) }, context);
          return null;
        case 'RejectTrip': {
          const { tripId, reason } = command;
          await tripCommands(tripId, { type: 'RejectTrip', data: { tripId, reason }, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'CreatePayment': {
          const { paymentId, tripId, passengerId, amount } = command;
          const data = { paymentId, tripId, passengerId, amount };
          await paymentCommands(paymentId, { type: 'CreatePayment', data, metadata: metadata(commandId) }, context);
          return null;
        }
        case 'PayPayment':
          return await pay(command, context);
        case 'CancelPayment':
          return await cancel(command, context);
        case 'RefundPayment':
          return await refund(command, context);
        case 'RefundPaidPayment':
          return await refundPaid(command, context);
        case 'ChargeFinishedTrip':
          return await chargeFinished(command, context);
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
   * Charges once per command id (the idempotency key): a payment whose result is recorded
   * already is not charged again. A payment that is no longer CREATED (cancelled after a
   * timeout) is not charged; the provider is asked whether the earlier attempt took the money
   * after all, and what it took is refunded and recorded (`settleLateCharge`).
   */
  async function pay(command: Extract<SagaCommand, { type: 'PayPayment' }>, context: Context): Promise<SagaOutcomeInput | null> {
    const { paymentId, amount, commandId } = command;
    const history = await store.read('payment', paymentId);
    if (history.commits.has(commandId)) return null; // recorded before a crash: the event is in the log
    const payment = fold(paymentDecider, history.events);
    if (payment.status !== 'CREATED') {
      const late = await provider.findCharge(commandId);
      if (late?.outcome === 'PAID') {
        const verdict = await settleLateCharge({ store, provider, clock }, { paymentId, chargeReference: late.providerReference, amount }, context);
        const what = verdict.kind === 'refund' || verdict.kind === 'refunded' ? 'was refunded' : `is ${verdict.kind}${verdict.kind === 'unknown' ? ` (${verdict.why})` : ''}`;
        if (verdict.kind === 'unknown') logger?.error({ paymentId, chargeReference: late.providerReference, why: verdict.why }, 'charge the log cannot hold: settle it by hand');
        return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', `Payment ${paymentId} is ${payment.status}: its late charge ${late.providerReference} ${what}.`);
      }
      return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', `Payment ${paymentId} is ${payment.status}: it was not charged.`);
    }
    return chargeAndRecord(command, context);
  }

  /**
   * The charge itself, of a payment read CREATED: under the command id as the idempotency key
   * (the provider looks the key up first and answers a known one with its first answer), then
   * RecordPaymentResult under the same id. A provider that does not answer in time throws: the
   * command stays in the outbox and is carried out again, same key.
   */
  async function chargeAndRecord(command: Extract<SagaCommand, { type: 'PayPayment' }>, context: Context): Promise<null> {
    const { paymentId, passengerId, amount, commandId } = command;
    const result = await withTimeout(provider.charge({ idempotencyKey: commandId, paymentId, passengerId, amount, currency }), chargeTimeoutMs, 'the payment provider');
    const data =
      result.outcome === 'PAID'
        ? { paymentId, outcome: 'PAID' as const, providerReference: result.providerReference }
        : { paymentId, outcome: 'DECLINED' as const, reason: result.reason };
    try {
      await paymentCommands(paymentId, { type: 'RecordPaymentResult', data, metadata: metadata(commandId) }, context);
      return null;
    } catch (error) {
      // Cancelled between the read and the record: give the money back at the provider, and say so in the log.
      if (error instanceof DomainError && result.outcome === 'PAID') {
        await settleLateCharge({ store, provider, clock }, { paymentId, chargeReference: result.providerReference, amount }, context);
      }
      throw error;
    }
  }

  /**
   * Cancels a payment that will not be charged. When a charge was tried (`chargeKey`), the
   * provider is asked first: a charge it made is recorded as the PayPayment's result, under the
   * PayPayment's own id (so that command, if it runs again, finds it recorded), and the saga,
   * seeing PaymentPaid, refunds it. Not cancelled then.
   */
  async function cancel(command: Extract<SagaCommand, { type: 'CancelPayment' }>, context: Context): Promise<SagaOutcomeInput | null> {
    const { paymentId, reason, chargeKey, commandId } = command;
    if (chargeKey !== undefined) {
      const charged = await provider.findCharge(chargeKey);
      const payment = fold(paymentDecider, (await store.read('payment', paymentId)).events);
      if (charged?.outcome === 'PAID' && payment.status === 'CREATED') {
        const data = { paymentId, outcome: 'PAID' as const, providerReference: charged.providerReference };
        await paymentCommands(paymentId, { type: 'RecordPaymentResult', data, metadata: metadata(chargeKey) }, context);
        return null;
      }
    }
    await paymentCommands(paymentId, { type: 'CancelPayment', data: { paymentId, reason }, metadata: metadata(commandId) }, context);
    return null;
  }

  /**
   * Refunds a PAID payment at the provider, then records the refund with the provider's id. The
   * refund's key is derived from the charge (`refundKeyOf`), so after a crash between the two
   * the command, carried out again, gets the same refund back and records it; any other path
   * that refunds this charge gets the same refund too.
   */
  async function refundAndRecord(payment: Payment, reason: string, commandId: string, context: Context): Promise<void> {
    const { id: paymentId, providerReference, amount } = payment;
    if (providerReference === undefined) throw illegalState(`Payment ${paymentId} has no provider reference: its charge cannot be refunded here.`);
    const { refundReference } = await provider.refund({ idempotencyKey: refundKeyOf(providerReference), chargeReference: providerReference, amount });
    await paymentCommands(paymentId, { type: 'RefundPayment', data: { paymentId, reason, refundReference }, metadata: metadata(commandId) }, context);
  }

  /** The trip creation saga's compensation: refund a PAID payment. */
  async function refund(command: Extract<SagaCommand, { type: 'RefundPayment' }>, context: Context): Promise<SagaOutcomeInput | null> {
    const { paymentId, reason, commandId } = command;
    const history = await store.read('payment', paymentId);
    if (history.commits.has(commandId)) return null; // refunded and recorded before a crash
    const payment = fold(paymentDecider, history.events);
    if (payment.status !== 'PAID') throw illegalState(`Payment ${paymentId} cannot be refunded: it is ${payment.status}; only a PAID payment can be refunded.`);
    await refundAndRecord(payment, reason, commandId, context);
    return null;
  }

  /**
   * The refund of a trip that ended unfinished after its confirmation (`settleOnTripEnd` says
   * whose refund it is), read from the logs as they are now.
   */
  async function refundPaid(command: Extract<SagaCommand, { type: 'RefundPaidPayment' }>, context: Context): Promise<SagaOutcomeInput | null> {
    const { tripId, paymentId, reason, commandId } = command;
    const history = await store.read('payment', paymentId);
    if (history.commits.has(commandId)) return null; // refunded before a crash: the event is in the log
    const rule = settleOnTripEnd(tripId, (await store.read('trip', tripId)).events, history.events);
    if (rule.kind !== 'refund') return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', rule.kind === 'nothing' ? rule.why : `Trip ${tripId} finished: nothing to refund.`);
    await refundAndRecord(rule.payment, reason, commandId, context);
    return null;
  }

  /**
   * The charge of a FINISHED trip's fare that nobody charged yet (`settleOnTripEnd`), read from
   * the logs as they are now: the same charge as the creation saga's PayPayment, under this
   * command's id. A decline is recorded (PaymentDeclined): the passenger owes the fare.
   */
  async function chargeFinished(command: Extract<SagaCommand, { type: 'ChargeFinishedTrip' }>, context: Context): Promise<SagaOutcomeInput | null> {
    const { sagaId, tripId, paymentId, commandId } = command;
    const history = await store.read('payment', paymentId);
    if (history.commits.has(commandId)) return null; // charged and recorded before a crash: the event is in the log
    const rule = settleOnTripEnd(tripId, (await store.read('trip', tripId)).events, history.events);
    if (rule.kind !== 'charge') return commandRejected<SagaCommand>(command, 'ILLEGAL_STATE', rule.kind === 'nothing' ? rule.why : `Trip ${tripId} did not finish: nothing to charge.`);
    const { passengerId, amount } = rule.payment;
    return chargeAndRecord({ type: 'PayPayment', sagaId, commandId, paymentId, passengerId, amount }, context);
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
