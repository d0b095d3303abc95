import type { DirectInput } from './saga.ts';

/**
 * Everything a saga can ask of the rest of the system, as data. The output handler
 * (`output-handler.ts`) turns each into a call: a domain command on an aggregate through
 * its command handler (`commandHandler`), a read, or a payment provider call. Each carries `commandId =
 * ${sagaId}:${step}`, so executing it again after a crash is recognised by its receiver.
 */
export type SagaCommand =
  /** A read, not a change: answered with a `PassengerChecked` input. */
  | { type: 'CheckPassenger'; sagaId: string; commandId: string; passengerId: string }
  | { type: 'ConfirmTrip'; sagaId: string; commandId: string; tripId: string }
  | { type: 'RejectTrip'; sagaId: string; commandId: string; tripId: string; reason: string }
  | { type: 'CreatePayment'; sagaId: string; commandId: string; paymentId: string; tripId: string; passengerId: string; amount: number }
  /** Charge at the provider, then record the outcome (RecordPaymentResult) with this command id. */
  | { type: 'PayPayment'; sagaId: string; commandId: string; paymentId: string; passengerId: string; amount: number }
  /**
   * Cancel a payment that will not be charged. `chargeKey`, when a charge was tried (its
   * PayPayment's id): the provider is asked first, and a charge it made is recorded as paid
   * instead (the saga then refunds it), never left behind a cancellation.
   */
  | { type: 'CancelPayment'; sagaId: string; commandId: string; paymentId: string; reason: string; chargeKey?: string }
  /** Refund a PAID payment at the provider (key derived from the charge), then record it with the refund's id. */
  | { type: 'RefundPayment'; sagaId: string; commandId: string; paymentId: string; reason: string }
  /**
   * Refund the trip's payment if it is PAID and the trip was confirmed before it ended unfinished
   * (cancelled, or dispatch failed; before confirmation the trip creation saga compensates
   * itself): `settleOnTripEnd`. Otherwise answered with a `CommandRejected`: nothing to refund.
   */
  | { type: 'RefundPaidPayment'; sagaId: string; commandId: string; tripId: string; paymentId: string; reason: string }
  /**
   * Charge the fare of a FINISHED trip whose payment is still CREATED (`settleOnTripEnd`), as a
   * PayPayment under this command id (the idempotency key): then RecordPaymentResult, paid or
   * declined. Otherwise (charged at creation, recorded already) a `CommandRejected`: nothing to charge.
   */
  | { type: 'ChargeFinishedTrip'; sagaId: string; commandId: string; tripId: string; paymentId: string };

export type SagaCommandType = SagaCommand['type'];

/** The answer to `CheckPassenger`: what the passenger's own log says now. */
export interface PassengerChecked extends DirectInput {
  type: 'PassengerChecked';
  passengerId: string;
  registered: boolean;
  banned: boolean;
}

export const passengerChecked = (command: Extract<SagaCommand, { type: 'CheckPassenger' }>, registered: boolean, banned: boolean): PassengerChecked => ({
  type: 'PassengerChecked',
  sagaId: command.sagaId,
  inputId: `${command.commandId}:answer`,
  passengerId: command.passengerId,
  registered,
  banned,
});
