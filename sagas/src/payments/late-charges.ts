import { DomainError, fold, UnreachableCaseError, paymentDecider, type CommandMetadata, type PaymentState } from '@happyride/domain';
import { commandHandler, type EventStore } from '@happyride/eventstore';
import type { Clock } from '../runtime/clock.ts';
import { SYSTEM_ACTOR } from '../runtime/system-actor.ts';
import { refundKeyOf, type PaymentProvider } from './provider.ts';

/**
 * What to do about one charge the provider made, given its payment as the log has it (pure):
 * - `recorded`: the log holds it (PaymentPaid with its reference): the sagas confirm the trip or
 *   refund it from there;
 * - `refunded`: recorded as a late charge given back already;
 * - `pending`: the payment still awaits its result: the PayPayment records it, or the
 *   CancelPayment after a timeout finds it (it asks the provider first);
 * - `refund`: the payment was cancelled without it (its answer came too late): nobody else will
 *   record it, so it is refunded and recorded as a late charge;
 * - `unknown`: the log cannot hold this charge (no such payment, or paid under another
 *   reference): left for an operator, logged.
 */
export type ChargeVerdict = { kind: 'recorded' } | { kind: 'refunded' } | { kind: 'pending' } | { kind: 'refund' } | { kind: 'unknown'; why: string };

export function judgeCharge(chargeReference: string, payment: PaymentState): ChargeVerdict {
  if (payment.status === 'NONE') return { kind: 'unknown', why: 'no such payment in the log' };
  if (payment.providerReference === chargeReference) return { kind: 'recorded' };
  if (payment.lateChargeRefunds?.[chargeReference] !== undefined) return { kind: 'refunded' };
  switch (payment.status) {
    case 'CREATED':
      return { kind: 'pending' };
    case 'CANCELLED':
      return { kind: 'refund' };
    case 'PAID':
    case 'REFUNDED':
    case 'DECLINED':
      return { kind: 'unknown', why: `payment ${payment.id} is ${payment.status}${payment.providerReference ? ` with charge ${payment.providerReference}` : ''}` };
    default:
      throw new UnreachableCaseError(payment);
  }
}

export interface LateCharge {
  paymentId: string;
  chargeReference: string;
  amount: number;
}

/**
 * Refunds a charge its payment's log does not hold (`judgeCharge` says `refund`) and records it
 * (`PaymentLateChargeRefunded`). The refund key and the command id are both derived from the
 * charge, so a crash between the two, or two processes at once (a retried PayPayment, the
 * reconciliation), end with one refund at the provider and one event in the log.
 * @returns the verdict it acted on.
 */
export async function settleLateCharge(
  { store, provider, clock }: { store: EventStore; provider: PaymentProvider; clock: Clock },
  { paymentId, chargeReference, amount }: LateCharge,
  context: { correlationId: string; causationId?: string },
): Promise<ChargeVerdict> {
  const verdict = judgeCharge(chargeReference, fold(paymentDecider, (await store.read('payment', paymentId)).events));
  if (verdict.kind !== 'refund') return verdict;
  const idempotencyKey = refundKeyOf(chargeReference);
  const { refundReference } = await provider.refund({ idempotencyKey, chargeReference, amount });
  const metadata: CommandMetadata = { commandId: idempotencyKey, actor: SYSTEM_ACTOR, now: clock.now().toISOString() };
  const reason = 'The provider took this charge after the payment was cancelled; it is given back.';
  const data = { paymentId, chargeReference, refundReference, amount, reason };
  try {
    await commandHandler({ store, aggregateType: 'payment', decider: paymentDecider })(paymentId, { type: 'RefundLateCharge', data, metadata }, { correlationId: context.correlationId, causationId: context.causationId ?? idempotencyKey });
  } catch (error) {
    // Recorded meanwhile by another path under another command id: the same refund, once in the log.
    if (!(error instanceof DomainError && /refunded already/.test(error.message))) throw error;
  }
  return verdict;
}
