import type { Actor } from '../decider.ts';
import { forbidden, illegalState, invalidInput, notFound, UnreachableCaseError } from '../errors.ts';
import { validReason } from '../trip/decide.ts';
import { validId } from '../validation.ts';
import { paymentOutcomes, type PaymentCommand } from './commands.ts';
import type { PaymentEvent } from './events.ts';
import type { Payment, PaymentState } from './evolve.ts';

/** A provider's reference for a payment: optional, trimmed, at most 200 characters. */
const MAX_REFERENCE_LENGTH = 200;

function mustBeSystem(actor: Actor, commandType: PaymentCommand['type']): void {
  if (actor.role !== 'system') {
    throw forbidden(`${commandType} is an internal command: only the trip creation saga may send it.`);
  }
}

function mustExist(state: PaymentState, paymentId: string): Payment {
  if (state.status === 'NONE') throw notFound(`Payment ${paymentId} does not exist.`);
  return state;
}

/** An amount of money: finite, non-negative, at most two decimals (cents). */
function validAmount(raw: number): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0) {
    throw invalidInput(`amount must be a finite, non-negative number; got ${JSON.stringify(raw)}.`);
  }
  if (Math.abs(Math.round(raw * 100) - raw * 100) > 1e-6) throw invalidInput(`amount must have at most two decimals; got ${raw}.`);
  return raw;
}

function validReference(raw: string | undefined, field = 'providerReference'): string | undefined {
  if (raw === undefined) return undefined;
  const reference = typeof raw === 'string' ? raw.trim() : '';
  if (reference.length === 0 || reference.length > MAX_REFERENCE_LENGTH) {
    throw invalidInput(`${field} must be 1 to ${MAX_REFERENCE_LENGTH} characters when given.`);
  }
  return reference;
}

function requiredReference(raw: string, field: string): string {
  const reference = validReference(raw ?? '', field);
  if (reference === undefined) throw invalidInput(`${field} is required.`);
  return reference;
}

/** The one shape of an illegal transition: names the payment, what was asked and its state. */
const cannot = (payment: Payment, what: string, hint = '') =>
  illegalState(`Payment ${payment.id} cannot be ${what}: it is ${payment.status}${hint}.`);

export function decidePayment(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  mustBeSystem(command.metadata.actor, command.type);
  const paymentId = validId(command.data.paymentId, 'paymentId');
  switch (command.type) {
    case 'CreatePayment': {
      const tripId = validId(command.data.tripId, 'tripId');
      const passengerId = validId(command.data.passengerId, 'passengerId');
      const amount = validAmount(command.data.amount);
      if (state.status !== 'NONE') throw illegalState(`Payment ${paymentId} already exists.`);
      return [{ type: 'PaymentCreated', data: { paymentId, tripId, passengerId, amount } }];
    }
    case 'RecordPaymentResult': {
      const { outcome } = command.data;
      if (!paymentOutcomes.includes(outcome)) {
        throw invalidInput(`outcome must be one of ${paymentOutcomes.join(', ')}; got ${JSON.stringify(outcome)}.`);
      }
      const providerReference = validReference(command.data.providerReference);
      const reason = outcome === 'DECLINED' ? validReason(command.data.reason ?? '', 'reason') : undefined;
      const payment = mustExist(state, paymentId);
      if (payment.status !== 'CREATED') throw cannot(payment, 'paid or declined', '; only a CREATED payment awaits a result');
      const { tripId, amount } = payment;
      if (reason !== undefined) return [{ type: 'PaymentDeclined', data: { paymentId, tripId, reason } }];
      return [{ type: 'PaymentPaid', data: { paymentId, tripId, amount, ...(providerReference === undefined ? {} : { providerReference }) } }];
    }
    case 'RefundPayment': {
      const reason = validReason(command.data.reason);
      const refundReference = validReference(command.data.refundReference, 'refundReference');
      const payment = mustExist(state, paymentId);
      if (payment.status !== 'PAID') throw cannot(payment, 'refunded', '; only a PAID payment can be refunded');
      const { tripId, amount } = payment;
      return [{ type: 'PaymentRefunded', data: { paymentId, tripId, amount, reason, ...(refundReference === undefined ? {} : { refundReference }) } }];
    }
    case 'RefundLateCharge': {
      const reason = validReason(command.data.reason);
      const chargeReference = requiredReference(command.data.chargeReference, 'chargeReference');
      const refundReference = requiredReference(command.data.refundReference, 'refundReference');
      const amount = validAmount(command.data.amount);
      const payment = mustExist(state, paymentId);
      if (payment.status !== 'CANCELLED') throw cannot(payment, 'refunded for a late charge', '; only a CANCELLED payment has late charges');
      if (payment.lateChargeRefunds?.[chargeReference] !== undefined) throw illegalState(`Charge ${chargeReference} of payment ${paymentId} was refunded already.`);
      return [{ type: 'PaymentLateChargeRefunded', data: { paymentId, tripId: payment.tripId, amount, chargeReference, refundReference, reason } }];
    }
    case 'CancelPayment': {
      const reason = validReason(command.data.reason);
      const payment = mustExist(state, paymentId);
      if (payment.status === 'PAID') throw cannot(payment, 'cancelled', '; refund it instead');
      if (payment.status !== 'CREATED' && payment.status !== 'DECLINED') throw cannot(payment, 'cancelled');
      return [{ type: 'PaymentCancelled', data: { paymentId, tripId: payment.tripId, reason } }];
    }
    default:
      throw new UnreachableCaseError(command);
  }
}
