/** Everything that can happen to a payment: the one source of truth for its event types. */
export type PaymentEvent =
  | { type: 'PaymentCreated'; data: { paymentId: string; tripId: string; passengerId: string; amount: number } }
  | { type: 'PaymentPaid'; data: { paymentId: string; tripId: string; amount: number; providerReference?: string } }
  | { type: 'PaymentDeclined'; data: { paymentId: string; tripId: string; reason: string } }
  | { type: 'PaymentRefunded'; data: { paymentId: string; tripId: string; amount: number; reason: string; refundReference?: string } }
  | { type: 'PaymentCancelled'; data: { paymentId: string; tripId: string; reason: string } }
  /** A charge the provider took after the payment was cancelled, given back (`refundReference`); still CANCELLED. */
  | {
      type: 'PaymentLateChargeRefunded';
      data: { paymentId: string; tripId: string; amount: number; chargeReference: string; refundReference: string; reason: string };
    };
