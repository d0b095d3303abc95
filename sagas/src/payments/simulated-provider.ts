import { ConfigError, envOptional } from '@happyride/platform';

export interface ChargeRequest {
  /** The same key always gets the same answer, without charging twice (the saga's command id). */
  idempotencyKey: string;
  paymentId: string;
  passengerId: string;
  amount: number;
}

export type ChargeResult = { outcome: 'PAID'; providerReference: string } | { outcome: 'DECLINED'; reason: string };

/** A card payment provider, as the saga's output handler sees it. */
export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Gives back a charge that could not be recorded (the payment was cancelled meanwhile). */
  refund(idempotencyKey: string): Promise<void>;
}

export interface SimulatedProviderOptions {
  /** Declines any amount at or above this. */
  declineAbove?: number;
  /** Declines these passengers' cards. */
  declinePassengers?: readonly string[];
}

/**
 * A deterministic stand-in for a payment provider: declines amounts ≥ `declineAbove` and the
 * passengers listed, pays the rest. Idempotent per key, like a real provider's idempotency keys.
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  /** Every charge it answered, by key: what a test checks to see nothing was charged twice. */
  readonly charges = new Map<string, ChargeRequest & ChargeResult>();
  readonly refunds = new Set<string>();
  readonly #declineAbove: number;
  readonly #declinePassengers: ReadonlySet<string>;

  constructor({ declineAbove = Number.POSITIVE_INFINITY, declinePassengers = [] }: SimulatedProviderOptions = {}) {
    this.#declineAbove = declineAbove;
    this.#declinePassengers = new Set(declinePassengers);
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const known = this.charges.get(request.idempotencyKey);
    if (known) return known.outcome === 'PAID' ? { outcome: 'PAID', providerReference: known.providerReference } : { outcome: 'DECLINED', reason: known.reason };
    const result: ChargeResult = this.#declinePassengers.has(request.passengerId)
      ? { outcome: 'DECLINED', reason: 'The card was declined.' }
      : request.amount >= this.#declineAbove
        ? { outcome: 'DECLINED', reason: `The amount ${request.amount} is above the card limit.` }
        : { outcome: 'PAID', providerReference: `sim-${request.paymentId}` };
    this.charges.set(request.idempotencyKey, { ...request, ...result });
    return result;
  }

  async refund(idempotencyKey: string): Promise<void> {
    this.refunds.add(idempotencyKey);
  }
}

/** `PAYMENT_DECLINE_ABOVE` (an amount) and `PAYMENT_DECLINE_PASSENGERS` (comma-separated ids). */
export function readSimulatedProviderConfig(env: Record<string, string | undefined>): SimulatedProviderOptions {
  const rawAbove = envOptional(env, 'PAYMENT_DECLINE_ABOVE');
  const declineAbove = rawAbove === undefined ? undefined : Number(rawAbove);
  if (declineAbove !== undefined && (!Number.isFinite(declineAbove) || declineAbove < 0)) {
    throw new ConfigError(`PAYMENT_DECLINE_ABOVE must be a non-negative number; got ${JSON.stringify(rawAbove)}.`);
  }
  const declinePassengers = (envOptional(env, 'PAYMENT_DECLINE_PASSENGERS') ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  return { ...(declineAbove === undefined ? {} : { declineAbove }), declinePassengers };
}
