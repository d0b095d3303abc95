/**
 * DOMAIN.md's money rule, checked on a running system at the end of an e2e file: for every trip
 * that has ended, what the provider charged minus what it refunded is the fare if the trip
 * FINISHED (its one exception: the charge at finish was declined, and the passenger owes the
 * fare: `declinedAtFinish` in `money-rule.ts`), and zero for every other end. The trips' and payments' events are read from the real
 * JetStream stream (an ordered consumer from its start); the ledger is the provider's own:
 * - the simulated provider's, in the system's MongoDB database (`simulated_provider_charges`,
 *   `simulated_provider_refunds`), where it keeps it as a real provider would;
 * - for Stripe (stripe-mock is stateless: it keeps no ledger), through the log only: each charge
 *   recorded (`PaymentPaid`) has a recorded refund, or its trip FINISHED and kept it; a FINISHED
 *   trip has a charge recorded, or its decline at finish.
 * Every refund the provider made must be in the log too, and every charge must belong to a trip.
 */
import { fold, tripDecider, type PaymentEvent, type TripEvent } from '@happyride/domain';
import { aggregateTypeSubject, connectNats, replayCommits } from '@happyride/eventstore';
import { connectMongo } from '@happyride/platform';
import { SIMULATED_CHARGES, SIMULATED_REFUNDS } from '@happyride/sagas';
import { inject } from 'vitest';
import { eventually } from './eventually.ts';
import { expectedKeptCents, ledgerViolations, logViolations, type Ledger, type LoggedTrip } from './money-rule.ts';
import { natsUrl } from './own-event-log.ts';

/** Every trip in the stream with its trip and payment events (a payment's id is its trip's id). */
export async function readTripsFromLog(url = natsUrl()): Promise<Map<string, LoggedTrip>> {
  const nats = await connectNats(url, 'e2e-money-conservation');
  const events = new Map<string, { trip: TripEvent[]; payment: PaymentEvent[] }>();
  try {
    await replayCommits(nats.js, [aggregateTypeSubject('trip'), aggregateTypeSubject('payment')], async (batch) => {
      for (const { commit } of batch) {
        const entry = events.get(commit.aggregateId) ?? { trip: [], payment: [] };
        if (commit.aggregateType === 'trip') entry.trip.push(...(commit.events as TripEvent[]));
        else entry.payment.push(...(commit.events as PaymentEvent[]));
        events.set(commit.aggregateId, entry);
      }
    });
  } finally {
    await nats.close();
  }
  const trips = new Map<string, LoggedTrip>();
  for (const [id, { trip, payment }] of events) if (trip.length > 0) trips.set(id, { trip: fold(tripDecider, trip), tripEvents: trip, paymentEvents: payment });
  return trips;
}

/** The simulated provider's ledger, from the system's database. */
export async function readSimulatedLedger(database: string, mongoUrl = inject('mongoUrl')): Promise<Ledger> {
  const mongo = await connectMongo(mongoUrl, database, 'e2e-money-conservation');
  try {
    const charges = await mongo.db.collection(SIMULATED_CHARGES).find({ outcome: 'PAID' }).toArray();
    const refunds = await mongo.db.collection(SIMULATED_REFUNDS).find({}).toArray();
    return {
      charges: charges.map((doc) => ({ paymentId: String(doc['paymentId']), chargeReference: String(doc['providerReference']), amount: Number(doc['amount']) })),
      refunds: refunds.map((doc) => ({ paymentId: String(doc['paymentId']), chargeReference: String(doc['chargeReference']), amount: Number(doc['amount']), refundReference: String(doc['refundReference']) })),
    };
  } finally {
    await mongo.close();
  }
}

/**
 * Waits (up to `timeoutMs`: charges at finish and refunds are asynchronous) until the rule holds
 * for every ended trip of the system, and fails naming each breach if it does not. Returns how
 * many ended trips it checked, how many of them were charged, how many FINISHED.
 */
export async function expectMoneyConserved(
  system: { database: string; provider: 'simulated' | 'stripe' },
  { timeoutMs = 60_000, nats = natsUrl() }: { timeoutMs?: number; nats?: string } = {},
): Promise<{ ended: number; charged: number; finished: number }> {
  const check = async () => {
    const trips = await readTripsFromLog(nats);
    const violations = system.provider === 'stripe' ? logViolations(trips) : ledgerViolations(trips, await readSimulatedLedger(system.database));
    const ended = [...trips.values()].filter((trip) => expectedKeptCents(trip) !== null);
    const charged = ended.filter((trip) => trip.paymentEvents.some((event) => event.type === 'PaymentPaid')).length;
    return { violations, ended: ended.length, charged, finished: ended.filter((trip) => trip.trip.status === 'FINISHED').length };
  };
  const { ended, charged, finished } = await eventually(check, (result) => result.violations.length === 0, { timeoutMs, intervalMs: 500, what: 'money conserved for every ended trip' });
  return { ended, charged, finished };
}
