/**
 * The payment provider port: what the sagas' output handler and the reconciliation ask of a card
 * payment provider. Two adapters: the simulated provider (`simulated-provider.ts`, the default,
 * its ledger in MongoDB) and Stripe (`stripe-provider.ts`).
 *
 * Every call that moves money carries an idempotency key: the same key always gets the same
 * answer and moves the money at most once, whoever asks again and whenever (a retried command,
 * another worker, the reconciliation).
 */
export interface ChargeRequest {
  /** The saga's PayPayment command id: a retried command charges under the same key. */
  idempotencyKey: string;
  paymentId: string;
  passengerId: string;
  /** In the currency's major unit, at most two decimals. */
  amount: number;
  /** ISO 4217, lower case (`eur`). */
  currency: string;
}

export type ChargeResult = { outcome: 'PAID'; providerReference: string } | { outcome: 'DECLINED'; reason: string };

/** A charge the provider made (money taken), as the reconciliation lists it. */
export interface ProviderCharge {
  idempotencyKey: string;
  paymentId: string;
  /** The provider's id of the charge (`providerReference` of ChargeResult). */
  chargeReference: string;
  amount: number;
  createdAt: Date;
}

export interface RefundRequest {
  /** Derived from the charge (`refundKeyOf`): every path that refunds one charge reuses it. */
  idempotencyKey: string;
  chargeReference: string;
  amount: number;
}

export interface PaymentProvider {
  /** Charges once per key; a known key is answered with its first answer. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** What the provider answered under this key, without charging; null when it has no charge under it (yet). */
  findCharge(idempotencyKey: string): Promise<ChargeResult | null>;
  /** Refunds once per key; returns the provider's id of the refund (the same for a known key). */
  refund(request: RefundRequest): Promise<{ refundReference: string }>;
  /** Every charge made (paid, not declined) in [from, to), oldest first; the reconciliation asks for windows of at most an hour. */
  listCharges(from: Date, to: Date): Promise<ProviderCharge[]>;
}

/**
 * The refund key of a charge: one refund per charge, whichever command or process asks for it
 * (the creation saga's compensation, the cancellation saga, a late charge, the reconciliation),
 * and the same key again when a command is retried after a crash.
 */
export const refundKeyOf = (chargeReference: string) => `refund-${chargeReference}`;
