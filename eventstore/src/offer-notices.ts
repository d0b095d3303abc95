import type { Nats } from './nats.ts';

/**
 * Dispatch offer notices on core NATS, one subject per driver: the dispatch worker publishes
 * after writing the offer to its read model (`dispatch_offers`); every gateway instance hears
 * them and re-reads the offer through the graph for the driver's `dispatchOffers` subscription.
 */
export const dispatchOfferSubject = (driverId: string) => `updates.offers.${driverId}`;

export interface DispatchOfferNotice {
  tripId: string;
  driverId: string;
  /** OPEN, ASSIGNED (to this driver), TAKEN (by another), EXPIRED or CANCELLED. */
  status: string;
}

export function publishDispatchOffer(nats: Nats, notice: DispatchOfferNotice): void {
  nats.connection.publish(dispatchOfferSubject(notice.driverId), JSON.stringify(notice));
}
