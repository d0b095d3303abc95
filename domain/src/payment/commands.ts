import type { CommandMetadata } from '../decider.ts';

/** The outcome a payment provider reported for one payment attempt. */
export type PaymentOutcome = 'PAID' | 'DECLINED';
export const paymentOutcomes = ['PAID', 'DECLINED'] as const satisfies readonly PaymentOutcome[];

/**
 * What can be asked of a payment. All internal: the trip creation saga (and later the
 * cancellation process) sends them with the `system` actor, never from a token.
 */
export type PaymentCommand =
  | { type: 'CreatePayment'; data: { paymentId: string; tripId: string; passengerId: string; amount: number }; metadata: CommandMetadata }
  | {
      type: 'RecordPaymentResult';
      data: { paymentId: string; outcome: PaymentOutcome; providerReference?: string; reason?: string };
      metadata: CommandMetadata;
    }
  /** Records a refund the provider made: `refundReference` is the provider's id of the refund. */
  | { type: 'RefundPayment'; data: { paymentId: string; reason: string; refundReference?: string }; metadata: CommandMetadata }
  /**
   * Records the refund of a charge the provider took after the payment was cancelled (its answer
   * came too late): the payment stays CANCELLED, the money went back.
   */
  | {
      type: 'RefundLateCharge';
      data: { paymentId: string; chargeReference: string; refundReference: string; amount: number; reason: string };
      metadata: CommandMetadata;
    }
  | { type: 'CancelPayment'; data: { paymentId: string; reason: string }; metadata: CommandMetadata };

export type PaymentCommandType = PaymentCommand['type'];
