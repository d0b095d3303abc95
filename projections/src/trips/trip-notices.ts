import { publishTripUpdated, type Delivery, type Nats } from '@happyride/eventstore';
import { generationCollection } from '@happyride/platform';
import type { Db } from 'mongodb';
import { TRIPS } from './trip-history.ts';

const NAME_EVENTS = new Set(['PassengerRegistered', 'PassengerDetailsUpdated', 'DriverRegistered', 'DriverDetailsUpdated']);

/** Which trips a batch may have changed: its trips, the trips of its payments, and every trip of a person it (re)named. */
export function touchedBy(batch: readonly Delivery[]): { tripIds: Set<string>; passengerIds: Set<string>; driverIds: Set<string> } {
  const touched = { tripIds: new Set<string>(), passengerIds: new Set<string>(), driverIds: new Set<string>() };
  for (const { commit } of batch) {
    if (commit.aggregateType === 'trip') touched.tripIds.add(commit.aggregateId);
    else if (commit.aggregateType === 'payment') {
      for (const event of commit.events) if (event.aggregateType === 'payment') touched.tripIds.add(event.data.tripId); // its paymentStatus
    } else if (commit.events.some((event) => NAME_EVENTS.has(event.type))) {
      (commit.aggregateType === 'passenger' ? touched.passengerIds : touched.driverIds).add(commit.aggregateId);
    }
  }
  return touched;
}

/**
 * After a batch is written, tells live subscribers (the gateway's `tripUpdates`) which trips
 * may look different now, with their current version. Core NATS, fire and forget: a notice is
 * a hint to re-read; the read model is the truth.
 */
export async function publishTripNotices(nats: Nats, db: Db, batch: readonly Delivery[], generation = 0): Promise<void> {
  const { tripIds, passengerIds, driverIds } = touchedBy(batch);
  if (tripIds.size + passengerIds.size + driverIds.size === 0) return;
  const or = [
    ...(tripIds.size ? [{ _id: { $in: [...tripIds] } }] : []),
    ...(passengerIds.size ? [{ passengerId: { $in: [...passengerIds] } }] : []),
    ...(driverIds.size ? [{ driverId: { $in: [...driverIds] } }] : []),
  ];
  const trips = await db
    .collection<{ _id: string; version: number }>(generationCollection(TRIPS, generation))
    .find({ $or: or }, { projection: { _id: 1, version: 1 } })
    .toArray();
  for (const trip of trips) publishTripUpdated(nats, { tripId: trip._id, version: trip.version });
}
