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
  | { type: 'RefundPayment'; data: { paymentId: string; reason: string }; metadata: CommandMetadata }
  | { type: 'CancelPayment'; data: { paymentId: string; reason: string }; metadata: CommandMetadata };

export type PaymentCommandType = PaymentCommand['type'];
