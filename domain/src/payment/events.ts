/** Everything that can happen to a payment: the one source of truth for its event types. */
export type PaymentEvent =
  | { type: 'PaymentCreated'; data: { paymentId: string; tripId: string; passengerId: string; amount: number } }
  | { type: 'PaymentPaid'; data: { paymentId: string; tripId: string; amount: number; providerReference?: string } }
  | { type: 'PaymentDeclined'; data: { paymentId: string; tripId: string; reason: string } }
  | { type: 'PaymentRefunded'; data: { paymentId: string; tripId: string; amount: number; reason: string } }
  | { type: 'PaymentCancelled'; data: { paymentId: string; tripId: string; reason: string } };

export type PaymentEventType = PaymentEvent['type'];

export const paymentEventTypes = [
  'PaymentCreated',
  'PaymentPaid',
  'PaymentDeclined',
  'PaymentRefunded',
  'PaymentCancelled',
] as const satisfies readonly PaymentEventType[];
