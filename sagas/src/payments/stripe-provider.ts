import Stripe from 'stripe';
import type { ChargeRequest, ChargeResult, PaymentProvider, ProviderCharge, RefundRequest } from './provider.ts';

export interface StripeProviderOptions {
  apiKey: string;
  /** Another API base (stripe-mock in tests): `http://127.0.0.1:12111`. Default: Stripe's. */
  apiBase?: URL;
  /**
   * The card every charge uses (test mode: `pm_card_visa`; a declining one: `pm_card_chargeDeclined`).
   * One for every passenger: the domain has no per-passenger payment methods, so live keys are refused (`config.ts`).
   */
  paymentMethod?: string;
  /** Per request; the SDK's own retries reuse the same idempotency key. */
  timeoutMs?: number;
}

const cents = (amount: number) => Math.round(amount * 100);

/** A PaymentIntent's final answer, or null while it is not final (the call is tried again). */
function answerOf(intent: Stripe.PaymentIntent): ChargeResult | null {
  switch (intent.status) {
    case 'succeeded':
      return { outcome: 'PAID', providerReference: intent.id };
    case 'requires_payment_method':
    case 'canceled':
      return { outcome: 'DECLINED', reason: intent.last_payment_error?.message ?? `The payment was not completed (${intent.status}).` };
    default:
      return null;
  }
}

/**
 * The Stripe adapter: a charge is a PaymentIntent created with `confirm: true` (no capture step),
 * a refund a Refund of that PaymentIntent, each sent with the `Idempotency-Key` header from the
 * port's key (and a charge looked up by its key first), so a retried call returns Stripe's first answer instead of charging or refunding
 * again (Stripe keeps keys for at least 24 hours). The key, the payment and the passenger are in
 * the PaymentIntent's metadata: `findCharge` searches by the key and `listCharges` lists by
 * creation time for the reconciliation. Stripe's search is eventually consistent (about a minute
 * behind): a charge it does not show yet is found by the reconciliation, which lists by time.
 */
export class StripePaymentProvider implements PaymentProvider {
  readonly #stripe: Stripe;
  readonly #paymentMethod: string;

  constructor({ apiKey, apiBase, paymentMethod = 'pm_card_visa', timeoutMs = 10_000 }: StripeProviderOptions, stripe?: Stripe) {
    this.#stripe =
      stripe ??
      new Stripe(apiKey, {
        maxNetworkRetries: 2,
        timeout: timeoutMs,
        telemetry: false,
        ...(apiBase
          ? { host: apiBase.hostname, port: apiBase.port || (apiBase.protocol === 'https:' ? 443 : 80), protocol: apiBase.protocol === 'http:' ? 'http' : 'https' }
          : {}),
      });
    this.#paymentMethod = paymentMethod;
  }

  /** The SDK, for a test to listen to its `request` events. */
  get client(): Stripe {
    return this.#stripe;
  }

  /**
   * Looks the key up first (a retry after a crash, maybe beyond the Idempotency-Key's 24 hours):
   * a PaymentIntent made under it is answered, never charged again. Search lags by up to about a
   * minute; within that time the Idempotency-Key itself makes Stripe answer the first answer.
   */
  async charge({ idempotencyKey, paymentId, passengerId, amount, currency }: ChargeRequest): Promise<ChargeResult> {
    const earlier = await this.findCharge(idempotencyKey);
    if (earlier !== null) return earlier;
    try {
      const intent = await this.#stripe.paymentIntents.create(
        {
          amount: cents(amount),
          currency,
          confirm: true,
          payment_method: this.#paymentMethod,
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          description: `Happyride trip ${paymentId}`,
          metadata: { idempotencyKey, paymentId, passengerId },
        },
        { idempotencyKey },
      );
      const answer = answerOf(intent);
      if (answer === null) throw new Error(`Stripe PaymentIntent ${intent.id} is ${intent.status}; asked again later.`);
      return answer;
    } catch (error) {
      // A declined card is an answer, not a failure (Stripe saves it under the key too).
      if (error instanceof Stripe.errors.StripeCardError) return { outcome: 'DECLINED', reason: error.message };
      throw error;
    }
  }

  async findCharge(idempotencyKey: string): Promise<ChargeResult | null> {
    const found = await this.#stripe.paymentIntents.search({ query: `metadata['idempotencyKey']:'${idempotencyKey.replaceAll("'", "\\'")}'`, limit: 10 });
    const intent = found.data.find((candidate) => candidate.metadata['idempotencyKey'] === idempotencyKey);
    return intent ? answerOf(intent) : null;
  }

  async refund({ idempotencyKey, chargeReference, amount }: RefundRequest): Promise<{ refundReference: string }> {
    const refund = await this.#stripe.refunds.create(
      { payment_intent: chargeReference, amount: cents(amount), metadata: { idempotencyKey } },
      { idempotencyKey },
    );
    return { refundReference: refund.id };
  }

  async listCharges(from: Date, to: Date): Promise<ProviderCharge[]> {
    const charges: ProviderCharge[] = [];
    const created = { gte: Math.floor(from.getTime() / 1000), lt: Math.ceil(to.getTime() / 1000) };
    // Auto-paging through the window (100 a page).
    for await (const intent of this.#stripe.paymentIntents.list({ created, limit: 100 })) {
      const { idempotencyKey, paymentId } = intent.metadata;
      if (intent.status === 'succeeded' && idempotencyKey && paymentId) {
        charges.push({ idempotencyKey, paymentId, chargeReference: intent.id, amount: intent.amount_received / 100, createdAt: new Date(intent.created * 1000) });
      }
    }
    // Stripe lists newest first.
    return charges.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
