import type { ChargeRequest, ChargeResult, PaymentProvider, ProviderCharge, RefundRequest } from '../payments/provider.ts';

/**
 * How the provider treats a charge key:
 * - `pay` / `decline`: answers at once;
 * - `late`: takes the money at once but the first `lostAnswers` calls fail (the answer timed out);
 * - `hang`: takes nothing and fails every call until `land()` takes the money (a charge that lands
 *   late, maybe after the payment was cancelled); then answers it.
 */
export type ChargeBehaviour = { kind: 'pay' } | { kind: 'decline' } | { kind: 'late'; lostAnswers: number } | { kind: 'hang' };

interface LedgerCharge {
  request: ChargeRequest;
  result: ChargeResult;
  at: number;
}

interface LedgerRefund {
  idempotencyKey: string;
  chargeReference: string;
  paymentId: string;
  amount: number;
  refundReference: string;
}

/**
 * A payment provider in memory, for pure tests: the same contract as the simulated provider (one
 * answer per key, one refund per key, a refund only of a charge it made, never more than it took),
 * with a ledger a test reads. Time is a counter, advanced by each call.
 */
export class InMemoryPaymentProvider implements PaymentProvider {
  readonly charges = new Map<string, LedgerCharge>();
  readonly refunds = new Map<string, LedgerRefund>();
  /** Charges asked while hanging, landed by `land()`. */
  readonly #hanging = new Map<string, ChargeRequest>();
  readonly #lost = new Map<string, number>();
  readonly #behaviour: (request: ChargeRequest) => ChargeBehaviour;
  #tick = 0;

  constructor(behaviour: (request: ChargeRequest) => ChargeBehaviour) {
    this.#behaviour = behaviour;
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.#tick++;
    const known = this.charges.get(request.idempotencyKey);
    const behaviour = this.#behaviour(request);
    if (behaviour.kind === 'hang' && !known) {
      this.#hanging.set(request.idempotencyKey, request);
      throw new Error(`The provider did not answer charge ${request.idempotencyKey}.`);
    }
    const answer = known?.result ?? this.#record(request, behaviour.kind === 'decline' ? { outcome: 'DECLINED', reason: 'The card was declined.' } : paid(request));
    if (behaviour.kind === 'late') {
      const lost = this.#lost.get(request.idempotencyKey) ?? 0;
      if (lost < behaviour.lostAnswers) {
        this.#lost.set(request.idempotencyKey, lost + 1);
        throw new Error(`The answer to charge ${request.idempotencyKey} timed out.`);
      }
    }
    return answer;
  }

  /** Whether a hanging charge waits to land. */
  get landable(): boolean {
    return this.#hanging.size > 0;
  }

  /** The hanging charges take the money now. */
  land(): void {
    for (const [key, request] of this.#hanging) {
      if (!this.charges.has(key)) this.#record(request, paid(request));
    }
    this.#hanging.clear();
  }

  async findCharge(idempotencyKey: string): Promise<ChargeResult | null> {
    return this.charges.get(idempotencyKey)?.result ?? null;
  }

  async refund({ idempotencyKey, chargeReference, amount }: RefundRequest): Promise<{ refundReference: string }> {
    this.#tick++;
    const known = this.refunds.get(idempotencyKey);
    if (known) return { refundReference: known.refundReference };
    const charge = [...this.charges.values()].find(({ result }) => result.outcome === 'PAID' && result.providerReference === chargeReference);
    if (!charge) throw new Error(`No charge ${chargeReference} to refund.`);
    const refunded = [...this.refunds.values()].filter((refund) => refund.chargeReference === chargeReference).reduce((sum, refund) => sum + cents(refund.amount), 0);
    if (refunded + cents(amount) > cents(charge.request.amount)) throw new Error(`Refund of ${amount} exceeds what is left of charge ${chargeReference}.`);
    const refund = { idempotencyKey, chargeReference, paymentId: charge.request.paymentId, amount, refundReference: `re-${idempotencyKey}` };
    this.refunds.set(idempotencyKey, refund);
    return { refundReference: refund.refundReference };
  }

  async listCharges(): Promise<ProviderCharge[]> {
    return [...this.charges.values()].flatMap(({ request, result, at }) =>
      result.outcome === 'PAID'
        ? [{ idempotencyKey: request.idempotencyKey, paymentId: request.paymentId, chargeReference: result.providerReference, amount: request.amount, createdAt: new Date(at) }]
        : [],
    );
  }

  /** What the provider kept of a payment, in cents: charged minus refunded. */
  netCents(paymentId: string): number {
    const charged = [...this.charges.values()].filter(({ request, result }) => request.paymentId === paymentId && result.outcome === 'PAID').reduce((sum, { request }) => sum + cents(request.amount), 0);
    const refunded = [...this.refunds.values()].filter((refund) => refund.paymentId === paymentId).reduce((sum, refund) => sum + cents(refund.amount), 0);
    return charged - refunded;
  }

  #record(request: ChargeRequest, result: ChargeResult): ChargeResult {
    this.charges.set(request.idempotencyKey, { request, result, at: this.#tick });
    return result;
  }
}

const paid = (request: ChargeRequest): ChargeResult => ({ outcome: 'PAID', providerReference: `mem-${request.idempotencyKey}` });
export const cents = (amount: number) => Math.round(amount * 100);
