import { UnreachableCaseError } from '../errors.ts';
import type { PaymentEvent } from './events.ts';

/**
 * A payment's states: CREATED → PAID or DECLINED; PAID → REFUNDED; CREATED or DECLINED →
 * CANCELLED (a payment that will never be charged, so nothing dangles).
 */
export const paymentStatuses = ['CREATED', 'PAID', 'DECLINED', 'REFUNDED', 'CANCELLED'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export interface Payment {
  status: PaymentStatus;
  id: string;
  tripId: string;
  passengerId: string;
  amount: number;
  providerReference?: string;
  declineReason?: string;
  refundReason?: string;
  /** The provider's id of the refund of the charge. */
  refundReference?: string;
  cancellationReason?: string;
  /** Charges the provider took after the payment was cancelled, each given back: charge → refund reference. */
  lateChargeRefunds?: Readonly<Record<string, string>>;
}

export type PaymentState = { status: 'NONE' } | Payment;

export const initialPaymentState = (): PaymentState => ({ status: 'NONE' });

/** Applies `change` to an existing payment; recorded events never throw, even out of order. */
const onPayment = (state: PaymentState, change: (payment: Payment) => Payment): PaymentState =>
  state.status === 'NONE' ? state : change(state);

export function evolvePayment(state: PaymentState, event: PaymentEvent): PaymentState {
  switch (event.type) {
    case 'PaymentCreated': {
      const { paymentId, tripId, passengerId, amount } = event.data;
      return { status: 'CREATED', id: paymentId, tripId, passengerId, amount };
    }
    case 'PaymentPaid': {
      const { providerReference } = event.data;
      return onPayment(state, (payment) => ({ ...payment, status: 'PAID', ...(providerReference === undefined ? {} : { providerReference }) }));
    }
    case 'PaymentDeclined':
      return onPayment(state, (payment) => ({ ...payment, status: 'DECLINED', declineReason: event.data.reason }));
    case 'PaymentRefunded':
      return onPayment(state, (payment) => {
        const { reason: refundReason, refundReference } = event.data;
        return { ...payment, status: 'REFUNDED', refundReason, ...(refundReference === undefined ? {} : { refundReference }) };
      });
    case 'PaymentCancelled':
      return onPayment(state, (payment) => ({ ...payment, status: 'CANCELLED', cancellationReason: event.data.reason }));
    case 'PaymentLateChargeRefunded': {
      const { chargeReference, refundReference } = event.data;
      return onPayment(state, (payment) => ({ ...payment, lateChargeRefunds: { ...payment.lateChargeRefunds, [chargeReference]: refundReference } }));
    }
    default:
      throw new UnreachableCaseError(event);
  }
}
