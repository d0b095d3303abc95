/**
 * DOMAIN.md's money rule over a log and a ledger (pure; the I/O is in `money-conservation.ts`):
 * for every trip that has ended, what the provider charged minus what it refunded is the fare if
 * the trip FINISHED, and zero for every other end. One exception, and no other (README "A trip's
 * end settles its payment"): the charge of a FINISHED trip's fare, made when it finished, was
 * declined; its payment's log is exactly PaymentCreated, PaymentDeclined (the decline is the
 * record that the passenger owes the fare), and the provider kept zero.
 */
import type { PaymentEvent, TripEvent, TripState } from '@happyride/domain';

export interface LoggedTrip {
  trip: TripState;
  tripEvents: TripEvent[];
  paymentEvents: PaymentEvent[];
}

export interface Ledger {
  charges: { paymentId: string; chargeReference: string; amount: number }[];
  refunds: { paymentId: string; chargeReference: string; amount: number; refundReference: string }[];
}

const ENDS = new Set(['FINISHED', 'REJECTED', 'DISPATCH_FAILED', 'CANCELLED']);
const cents = (amount: number) => Math.round(amount * 100);
const sum = (amounts: number[]) => amounts.reduce((total, amount) => total + cents(amount), 0);

/**
 * The one exception: a FINISHED trip whose fare was declined when it finished. A decline during
 * creation is always followed by PaymentCancelled (and the trip is rejected, never finished), so
 * a payment whose whole log is PaymentCreated, PaymentDeclined was declined at finish: it is
 * DECLINED, owed by the passenger.
 */
export function declinedAtFinish({ trip, paymentEvents }: LoggedTrip): boolean {
  return trip.status === 'FINISHED' && paymentEvents.map((event) => event.type).join() === 'PaymentCreated,PaymentDeclined';
}

/** What the rule says a trip's provider keeps, in cents, once it has ended (null while it runs). */
export function expectedKeptCents(logged: LoggedTrip): number | null {
  const { trip } = logged;
  if (trip.status === 'NONE' || !ENDS.has(trip.status)) return null;
  if (trip.status !== 'FINISHED') return 0;
  return declinedAtFinish(logged) ? 0 : cents(trip.fare);
}

const refundReferencesIn = (events: readonly PaymentEvent[]) =>
  events.flatMap((event) => (event.type === 'PaymentRefunded' || event.type === 'PaymentLateChargeRefunded' ? [event.data.refundReference] : []));

/** The rule against the provider's ledger (pure): one line per breach, empty when money is conserved. */
export function ledgerViolations(trips: ReadonlyMap<string, LoggedTrip>, ledger: Ledger): string[] {
  const violations: string[] = [];
  for (const charge of ledger.charges) {
    if (!trips.has(charge.paymentId)) violations.push(`charge ${charge.chargeReference} of ${charge.amount} belongs to no trip in the log (${charge.paymentId})`);
  }
  for (const [tripId, logged] of trips) {
    const expected = expectedKeptCents(logged);
    if (expected === null) continue;
    const charged = sum(ledger.charges.filter((charge) => charge.paymentId === tripId).map((charge) => charge.amount));
    const refunds = ledger.refunds.filter((refund) => refund.paymentId === tripId);
    const kept = charged - sum(refunds.map((refund) => refund.amount));
    if (kept !== expected) violations.push(`trip ${tripId} ended ${logged.trip.status}: the provider kept ${kept / 100}, the rule says ${expected / 100} (charged ${charged / 100})`);
    const recorded = refundReferencesIn(logged.paymentEvents).sort();
    const made = refunds.map((refund) => refund.refundReference).sort();
    if (JSON.stringify(recorded) !== JSON.stringify(made)) violations.push(`trip ${tripId}: the provider refunded ${JSON.stringify(made)}, the log records ${JSON.stringify(recorded)}`);
  }
  return violations;
}

/** The rule through the log alone (a provider whose ledger cannot be read, e.g. stripe-mock). */
export function logViolations(trips: ReadonlyMap<string, LoggedTrip>): string[] {
  const violations: string[] = [];
  for (const [tripId, logged] of trips) {
    if (expectedKeptCents(logged) === null) continue;
    const types = logged.paymentEvents.map((event) => event.type);
    const paid = types.includes('PaymentPaid');
    const refunded = types.includes('PaymentRefunded');
    if (paid && !refunded && logged.trip.status !== 'FINISHED') violations.push(`trip ${tripId} ended ${logged.trip.status}: its charge is recorded and never refunded`);
    if (refunded && logged.trip.status === 'FINISHED') violations.push(`trip ${tripId} FINISHED: its charge was refunded`);
    if (!paid && logged.trip.status === 'FINISHED' && !declinedAtFinish(logged)) violations.push(`trip ${tripId} FINISHED: its fare was never charged (nor declined at finish)`);
  }
  return violations;
}
