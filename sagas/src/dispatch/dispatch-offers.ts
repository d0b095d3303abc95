import { publishDispatchOffer, type Nats } from '@happyride/eventstore';
import { bulkWriteInSafeCommands, MAJORITY_WRITES } from '@happyride/platform';
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
    this.#offers = db.collection<DispatchOfferDocument>(DISPATCH_OFFERS_COLLECTION, MAJORITY_WRITES);
  }

  async ensureIndexes(): Promise<void> {
    await this.#offers.createIndex({ driverId: 1, status: 1 });
    await this.#offers.createIndex({ tripId: 1 });
  }

  /**
   * An OPEN offer per driver; written once (a retry does not reopen a closed one), then a notice
   * to each: carrying the offer when this call wrote it (the gateway pushes it as it is), bare
   * when it was there already (the gateway reads what it is now).
   */
  async open(offer: OfferDetails, driverIds: readonly string[], expiresAt: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    const written = await bulkWriteInSafeCommands(
      this.#offers,
      driverIds.map((driverId) => ({
        updateOne: {
          filter: { _id: `${offer.tripId}:${driverId}` },
          update: { $setOnInsert: { ...offer, driverId, status: 'OPEN' as const, expiresAt, updatedAt } },
          upsert: true,
        },
      })),
    );
    const inserted = new Set(written);
    for (const driverId of driverIds) {
      const _id = `${offer.tripId}:${driverId}`;
      const notice = { tripId: offer.tripId, driverId, status: 'OPEN' } as const;
      publishDispatchOffer(this.nats, inserted.has(_id) ? { ...notice, offer: { ...offer, driverId, status: 'OPEN', expiresAt, updatedAt } } : notice);
    }
  }

  /**
   * Closes the trip's open offers: the assigned driver's as ASSIGNED, the others' as `status`; a
   * notice to each, carrying the new status and `updatedAt` when every one of its kind was
   * changed by this call (else bare: the gateway reads what each offer is now).
   */
  async close(tripId: string, driverIds: readonly string[], status: Exclude<OfferStatus, 'OPEN' | 'ASSIGNED'>, assignedDriverId?: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    let assignedWritten = false;
    if (assignedDriverId) {
      const result = await this.#offers.updateOne({ _id: `${tripId}:${assignedDriverId}` }, { $set: { status: 'ASSIGNED', updatedAt } });
      assignedWritten = result.matchedCount === 1;
    }
    const others = driverIds.filter((id) => id !== assignedDriverId);
    let othersWritten = false;
    if (others.length > 0) {
      const result = await this.#offers.updateMany({ tripId, driverId: { $in: others }, status: 'OPEN' }, { $set: { status, updatedAt } });
      othersWritten = result.modifiedCount === others.length;
    }
    for (const driverId of driverIds) {
      const assigned = driverId === assignedDriverId;
      const notice = { tripId, driverId, status: assigned ? 'ASSIGNED' : status };
      const written = assigned ? assignedWritten : othersWritten;
      publishDispatchOffer(this.nats, written ? { ...notice, offer: { tripId, driverId, status: notice.status, updatedAt } } : notice);
    }
  }

  /** A driver's offers in a state, newest first (for tests and the subgraph's query). */
  async ofDriver(driverId: string, status?: OfferStatus): Promise<DispatchOfferDocument[]> {
    return this.#offers.find({ driverId, ...(status ? { status } : {}) }).sort({ updatedAt: -1 }).toArray();
  }
}
