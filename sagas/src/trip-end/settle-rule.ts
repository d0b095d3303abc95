import { fold, paymentDecider, tripDecider, type Payment, type PaymentEvent, type TripEvent } from '@happyride/domain';

/** What settling a trip's end does, from the trip's and the payment's logs as they are now. */
export type TripEndSettlement = { kind: 'charge'; payment: Payment } | { kind: 'refund'; payment: Payment } | { kind: 'nothing'; why: string };

/**
 * The one owner of the money of a trip that ended after its confirmation (pure; DOMAIN.md "Money
 * is conserved"):
 * - never confirmed: the trip creation saga settles the payment (it compensates a cancellation
 *   while it runs, and alone rejects a trip), so nothing here;
 * - FINISHED: a CREATED payment (a fare the creation saga did not charge: at or below
 *   `PAYMENT_REQUIRED_ABOVE`) is charged here; a PAID one was charged at creation; a DECLINED one
 *   was declined here (the passenger owes the fare);
 * - CANCELLED or DISPATCH_FAILED: a PAID payment is refunded here; anything else (CREATED for a
 *   fare never charged, REFUNDED already) is left.
 */
export function settleOnTripEnd(tripId: string, tripEvents: readonly TripEvent[], paymentEvents: readonly PaymentEvent[]): TripEndSettlement {
  if (!tripEvents.some((event) => event.type === 'TripConfirmed')) {
    return { kind: 'nothing', why: `Trip ${tripId} ended before it was confirmed: the trip creation saga settles its payment.` };
  }
  const trip = fold(tripDecider, tripEvents);
  const payment = fold(paymentDecider, paymentEvents);
  if (payment.status === 'NONE') return { kind: 'nothing', why: `Trip ${tripId} has no payment.` };
  switch (trip.status) {
    case 'FINISHED':
      if (payment.status === 'CREATED') return { kind: 'charge', payment };
      return { kind: 'nothing', why: `Payment ${tripId} is ${payment.status}: nothing to charge${payment.status === 'DECLINED' ? ' (declined: the passenger owes the fare)' : ''}.` };
    case 'CANCELLED':
    case 'DISPATCH_FAILED':
      if (payment.status === 'PAID') return { kind: 'refund', payment };
      return { kind: 'nothing', why: `Payment ${tripId} is ${payment.status}: nothing to refund.` };
    default:
      return { kind: 'nothing', why: `Trip ${tripId} is ${trip.status}: it has not ended.` };
  }
}
