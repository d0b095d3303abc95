import { publishDispatchOffer, type Nats } from '@happyride/eventstore';
import { bulkWriteInSafeCommands } from '@happyride/platform';
import type { Collection, Db } from 'mongodb';
import type { OfferDetails, OfferStatus } from './dispatch-commands.ts';

/** One offer of one trip to one driver (collection `dispatch_offers`, `_id` `${tripId}:${driverId}`). */
export interface DispatchOfferDocument extends OfferDetails {
  _id: string;
  driverId: string;
  status: OfferStatus;
  expiresAt: string;
  updatedAt: string;
}

export const DISPATCH_OFFERS_COLLECTION = 'dispatch_offers';

/**
 * The offers read model, written by dispatch and read by the trip-queries subgraph (a driver's
 * open offers, so a reconnecting driver misses none), with a core-NATS notice per change that
 * the gateway's `dispatchOffers` subscription follows.
 */
export class DispatchOffers {
  readonly #offers: Collection<DispatchOfferDocument>;

  constructor(
    db: Db,
    private readonly nats: Nats,
  ) {
    this.#offers = db.collection<DispatchOfferDocument>(DISPATCH_OFFERS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.#offers.createIndex({ driverId: 1, status: 1 });
    await this.#offers.createIndex({ tripId: 1 });
  }

  /** An OPEN offer per driver; written once (a retry does not reopen a closed one), then a notice to each. */
  async open(offer: OfferDetails, driverIds: readonly string[], expiresAt: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    await bulkWriteInSafeCommands(
      this.#offers,
      driverIds.map((driverId) => ({
        updateOne: {
          filter: { _id: `${offer.tripId}:${driverId}` },
          update: { $setOnInsert: { ...offer, driverId, status: 'OPEN' as const, expiresAt, updatedAt } },
          upsert: true,
        },
      })),
    );
    for (const driverId of driverIds) publishDispatchOffer(this.nats, { tripId: offer.tripId, driverId, status: 'OPEN' });
  }

  /** Closes the trip's open offers: the assigned driver's as ASSIGNED, the others' as `status`; a notice to each. */
  async close(tripId: string, driverIds: readonly string[], status: Exclude<OfferStatus, 'OPEN' | 'ASSIGNED'>, assignedDriverId?: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    if (assignedDriverId) {
      await this.#offers.updateOne({ _id: `${tripId}:${assignedDriverId}` }, { $set: { status: 'ASSIGNED', updatedAt } });
    }
    const others = driverIds.filter((id) => id !== assignedDriverId);
    if (others.length > 0) {
      await this.#offers.updateMany({ tripId, driverId: { $in: others }, status: 'OPEN' }, { $set: { status, updatedAt } });
    }
    for (const driverId of driverIds) {
      publishDispatchOffer(this.nats, { tripId, driverId, status: driverId === assignedDriverId ? 'ASSIGNED' : status });
    }
  }

  /** A driver's offers in a state, newest first (for tests and the subgraph's query). */
  async ofDriver(driverId: string, status?: OfferStatus): Promise<DispatchOfferDocument[]> {
    return this.#offers.find({ driverId, ...(status ? { status } : {}) }).sort({ updatedAt: -1 }).toArray();
  }
}
