import { publishDispatchOffer, type Nats } from '@happyride/eventstore';
import { DUPLICATE_KEY, MAJORITY_WRITES } from '@happyride/platform';
import { MongoBulkWriteError, type Collection, type Db } from 'mongodb';
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
   * when it was there already (the gateway reads what it is now). One unordered insert, where an
   * offer already there is a duplicate key left as it is: FerretDB answers it in ~8 ms for 20
   * drivers where upserts took ~60 ms (each upsert its own lookup and write), and the write is
   * on every offer's way to the driver.
   */
  async open(offer: OfferDetails, driverIds: readonly string[], expiresAt: string): Promise<void> {
    const updatedAt = new Date().toISOString();
    const documents = driverIds.map((driverId): DispatchOfferDocument => ({ _id: `${offer.tripId}:${driverId}`, ...offer, driverId, status: 'OPEN', expiresAt, updatedAt }));
    const there = await insertNew(this.#offers, documents);
    for (const { _id, ...written } of documents) {
      const notice = { tripId: offer.tripId, driverId: written.driverId, status: 'OPEN' } as const;
      publishDispatchOffer(this.nats, there.has(_id) ? notice : { ...notice, offer: written });
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

/** Inserts `documents` unordered; resolves to the `_id`s that were there already (left as they are). */
async function insertNew(offers: Collection<DispatchOfferDocument>, documents: DispatchOfferDocument[]): Promise<Set<string>> {
  if (documents.length === 0) return new Set();
  try {
    await offers.insertMany(documents, { ordered: false });
    return new Set();
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const failures = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    if (failures.some((failure) => failure.code !== DUPLICATE_KEY)) throw error;
    return new Set(failures.map((failure) => documents[failure.index]!._id));
  }
}
