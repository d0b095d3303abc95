import { publishTripUpdated, type Delivery, type Nats } from '@happyride/eventstore';
import { generationCollection } from '@happyride/platform';
import type { Db } from 'mongodb';
import { inChunks } from '../find-in-chunks.ts';
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
  const trips = db.collection<{ _id: string; version: number }>(generationCollection(TRIPS, generation));
  // One `$in` per field, not one `$or`: each is an index search on the embedded FerretDB (which
  // reads the whole collection for a top-level `$or`), and in chunks it pushes down whole.
  const reads = [
    ...inChunks([...tripIds]).map((ids) => ({ _id: { $in: ids } })),
    ...inChunks([...passengerIds]).map((ids) => ({ passengerId: { $in: ids } })),
    ...inChunks([...driverIds]).map((ids) => ({ driverId: { $in: ids } })),
  ].map((filter) => trips.find(filter, { projection: { _id: 1, version: 1 } }).toArray());
  const versions = new Map<string, number>();
  for (const found of await Promise.all(reads)) for (const trip of found) versions.set(trip._id, trip.version);
  for (const [tripId, version] of versions) publishTripUpdated(nats, { tripId, version });
}
