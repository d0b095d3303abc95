import { fold, paymentDecider, tripDecider, type Payment, type PaymentEvent, type TripEvent } from '@happyride/domain';

/** What `RefundPaidPayment` does, from the trip's and the payment's logs as they are now. */
export type TripEndRefund = { kind: 'refund'; payment: Payment } | { kind: 'nothing'; why: string };

/**
 * The one owner of each refund of a trip that ended without finishing (pure):
 * - never confirmed: the trip creation saga settles the payment (it compensates a cancellation
 *   while it runs, and alone rejects a trip), so nothing here;
 * - confirmed, then CANCELLED or DISPATCH_FAILED: the creation saga has ended; a PAID payment is
 *   refunded here, anything else (CREATED for a fare it never charged, REFUNDED already) is left.
 */
export function refundOnTripEnd(tripId: string, tripEvents: readonly TripEvent[], paymentEvents: readonly PaymentEvent[]): TripEndRefund {
  if (!tripEvents.some((event) => event.type === 'TripConfirmed')) {
    return { kind: 'nothing', why: `Trip ${tripId} ended before it was confirmed: the trip creation saga settles its payment.` };
  }
  const trip = fold(tripDecider, tripEvents);
  if (trip.status !== 'CANCELLED' && trip.status !== 'DISPATCH_FAILED') {
    return { kind: 'nothing', why: `Trip ${tripId} is ${trip.status}: it did not end unfinished.` };
  }
  const payment = fold(paymentDecider, paymentEvents);
  if (payment.status !== 'PAID') return { kind: 'nothing', why: `Payment ${tripId} is ${payment.status}: nothing to refund.` };
  return { kind: 'refund', payment };
}
