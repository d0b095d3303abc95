import type { Nats } from './nats.ts';

/**
 * Dispatch offer notices on core NATS, one subject per driver: the dispatch worker publishes
 * after writing the offer to its read model (`dispatch_offers`); every gateway instance hears
 * them and pushes the offer to the driver's `dispatchOffers` subscription: from the notice's
 * `offer` when it carries every field the subscription selects, else read through the graph.
 */
export const dispatchOfferSubject = (driverId: string) => `updates.offers.${driverId}`;

export interface DispatchOfferNotice {
  tripId: string;
  driverId: string;
  /** OPEN, ASSIGNED (to this driver), TAKEN (by another), EXPIRED or CANCELLED. */
  status: string;
  /**
   * The offer's fields as its read model holds them after this write (`tripId` and `driverId`
   * included), all of them or some: only when the publisher knows that is what was written.
   * Without it, or for a field it lacks, the gateway reads the offer through the graph.
   */
  offer?: Record<string, unknown>;
}

export function publishDispatchOffer(nats: Nats, notice: DispatchOfferNotice): void {
  nats.connection.publish(dispatchOfferSubject(notice.driverId), JSON.stringify(notice));
}
