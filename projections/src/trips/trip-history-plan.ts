import type { Delivery, EventEnvelope } from '@happyride/eventstore';
import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { VersionGapError } from '../aggregate-view.ts';
import {
  addTransition,
  DRIVER_NAMES,
  evolveTrip,
  PASSENGER_NAMES,
  PAYMENTS,
  paymentStatusAfter,
  TRIP_STATS,
  TRIPS,
  type NameLookupDocument,
  type PaymentLookupDocument,
  type PersonName,
  type TripPayment,
  type TripHistoryDocument,
  type TripHistoryScope,
  type TripStatsDocument,
} from './trip-history.ts';

/** What a batch needs loaded before it can be planned. */
export interface TripHistoryKeys {
  /** Trips with events in the batch, or whose payment has events in it: their payment lookups are read too. */
  tripIds: string[];
  /** Name lookups to read: people with name events, passengers of created trips. */
  passengerIds: string[];
  driverIds: string[];
  /** People with name events in the batch: every stored trip of theirs is loaded too. */
  renamedPassengerIds: string[];
  renamedDriverIds: string[];
}

/**
 * The stored state a batch is planned from. `trips` must hold every stored trip whose `_id` is
 * in `tripIds`, whose `passengerId` is in `renamedPassengerIds` or whose `driverId` is in
 * `renamedDriverIds` (the runner reads them with one `$or` find).
 */
export interface TripHistoryState {
  trips: readonly TripHistoryDocument[];
  passengerNames: readonly NameLookupDocument[];
  driverNames: readonly NameLookupDocument[];
  /** The payment lookups of the batch's `tripIds`. */
  payments: readonly PaymentLookupDocument[];
  stats: TripStatsDocument;
}

/** Every document here is keyed by a string id. */
export type KeyedDocument = Document & { _id: string };

/** One step of writes: one `bulkWrite` on one collection. */
export interface WriteStep {
  collection: string;
  ops: AnyBulkWriteOperation<KeyedDocument>[];
}

export interface TripHistoryPlan {
  /**
   * To run in this order, each step only once the previous one completed:
   * 1. `trip_stats` (at most one conditional `$inc`), 2. `trips` (trip documents, then the
   * renames' and payments' `updateOne`s), 3. the passenger name lookups, 4. the driver name
   * lookups, 5. the payment lookups.
   * Empty steps are left out.
   */
  steps: WriteStep[];
  /** Trip events applied (new versions). */
  applied: number;
  /** Trip events whose transitions this plan counts in the statistics. */
  counted: number;
}

const nameOf = (event: EventEnvelope): string | null => {
  switch (event.type) {
    case 'PassengerRegistered':
    case 'PassengerDetailsUpdated':
    case 'DriverRegistered':
    case 'DriverDetailsUpdated':
      return event.data.name;
    default:
      return null;
  }
};

/** One partition: the statistics document `all`, name lookups by the person's id. */
export const wholeScope: TripHistoryScope = { statsId: 'all', lookupId: (id) => id, owns: () => true };

/** The ids a batch touches, to load before planning it. */
export function tripHistoryKeys(batch: readonly Delivery[]): TripHistoryKeys {
  const trips = new Set<string>();
  const passengers = new Set<string>();
  const drivers = new Set<string>();
  const renamedPassengers = new Set<string>();
  const renamedDrivers = new Set<string>();
  for (const { commit } of batch) {
    for (const event of commit.events) {
      if (event.aggregateType === 'trip') {
        trips.add(event.aggregateId);
        if (event.type === 'TripCreated') passengers.add(event.data.passengerId);
        if (event.type === 'TripDriverAssigned') drivers.add(event.data.driverId);
      } else if (event.aggregateType === 'payment') {
        trips.add(event.data.tripId);
      } else if (nameOf(event) !== null) {
        (event.aggregateType === 'passenger' ? passengers : drivers).add(event.aggregateId);
        (event.aggregateType === 'passenger' ? renamedPassengers : renamedDrivers).add(event.aggregateId);
      }
    }
  }
  return {
    tripIds: [...trips],
    passengerIds: [...passengers],
    driverIds: [...drivers],
    renamedPassengerIds: [...renamedPassengers],
    renamedDriverIds: [...renamedDrivers],
  };
}

export const isEmptyKeys = (keys: TripHistoryKeys) =>
  keys.tripIds.length === 0 && keys.passengerIds.length === 0 && keys.driverIds.length === 0;

/**
 * The `find` filter of each collection for a batch's keys (null: nothing to read there).
 * Trips are read by several finds whose answers are merged (`mergeById`): the batch's trips by
 * `_id`, and, only in a batch with a rename, the stored trips of renamed passengers by
 * `passengerId` and of renamed drivers by `driverId`. One filter of one field each: that is what
 * FerretDB (as built by local-servers) answers from an index; a `$or` it would read in full.
 */
export function tripHistoryFilters(keys: TripHistoryKeys): {
  trips: Document | null;
  tripsOfRenamed: Document[];
  passengerNames: Document | null;
  driverNames: Document | null;
  payments: Document | null;
} {
  const byIds = (ids: string[]) => (ids.length ? { _id: { $in: ids } } : null);
  return {
    trips: byIds(keys.tripIds),
    tripsOfRenamed: [
      ...(keys.renamedPassengerIds.length ? [{ passengerId: { $in: keys.renamedPassengerIds } }] : []),
      ...(keys.renamedDriverIds.length ? [{ driverId: { $in: keys.renamedDriverIds } }] : []),
    ],
    passengerNames: byIds(keys.passengerIds),
    driverNames: byIds(keys.driverIds),
    payments: byIds(keys.tripIds),
  };
}

/** The documents of several finds, each once. */
export function mergeById<T extends KeyedDocument>(...found: readonly T[][]): T[] {
  return [...new Map(found.flat().map((doc) => [doc._id, doc])).values()];
}

/** The two parties of a trip, as the name logic sees them. */
const parties = [
  { kind: 'passenger', idField: 'passengerId', nameField: 'passengerName', versionField: 'passengerNameVersion', collection: PASSENGER_NAMES },
  { kind: 'driver', idField: 'driverId', nameField: 'driverName', versionField: 'driverNameVersion', collection: DRIVER_NAMES },
] as const;

/**
 * Plans the writes for one batch of deliveries, in stream order, from the stored state: pure.
 *
 * - Trip events are applied when they are the next version of their trip (a redelivered one is
 *   skipped; one arriving before its predecessor throws `VersionGapError`, so the batch is
 *   retried). A trip copies its passenger's and driver's current name and name version.
 * - A name event raises the lookup to its version (the highest version wins), renames the trips
 *   in memory and, for each stored trip of that person that holds an older name and no other
 *   change, plans `updateOne({ _id, <party>NameVersion: { $lt: v } }, { $set: name, version })`.
 * - A payment event (it names its trip) does the same with the trip's payment status: the
 *   highest payment version wins, kept in a lookup by trip id, so a trip created after its
 *   payment's events were seen still gets the status, and a stored trip gets
 *   `updateOne({ _id, paymentVersion: { $lt: v } }, { $set: status, version })` (unless the
 *   batch moved the trip on: its replacement carries the status).
 * - Each document is written once per batch, however many of the batch's commits touched it:
 *   a trip the batch moved on is inserted or replaced with its final state; a stored trip it
 *   only renamed or paid gets one `updateOne` setting every changed field, guarded by each
 *   changed field's version (`{ _id, passengerNameVersion: { $lt: v }, paymentVersion: { $lt: w } }`:
 *   all of them held in the document just read). A large batch (a projector far behind the
 *   head) thus writes a trip once where small ones wrote it once per batch it spans.
 * - An applied trip event is counted in the statistics only if its stream sequence is after the
 *   stored `position`: counting goes by position, applying by version (see the runner for why
 *   the two together are crash-safe).
 */
export function planTripHistoryBatch(state: TripHistoryState, batch: readonly Delivery[], scope: Pick<TripHistoryScope, 'statsId' | 'lookupId'> = wholeScope): TripHistoryPlan {
  const stored = new Map(state.trips.map((trip) => [trip._id, trip]));
  const trips = new Map<string, TripHistoryDocument>(stored);
  const known = {
    passenger: new Map<string, PersonName>(state.passengerNames.map(({ _id, name, version }) => [_id, { name, version }])),
    driver: new Map<string, PersonName>(state.driverNames.map(({ _id, name, version }) => [_id, { name, version }])),
  };
  const storedNames = { passenger: new Map(known.passenger), driver: new Map(known.driver) };
  const names = { passengers: known.passenger, drivers: known.driver };
  const storedPayments = new Map<string, PaymentLookupDocument>(state.payments.map((payment) => [payment._id, payment]));
  const payments = new Map<string, TripPayment & { paymentId: string }>(
    state.payments.map(({ _id, paymentId, status, version }) => [_id, { paymentId, status, version }]),
  );
  const increments = new Map<string, number>();
  const position = state.stats.position;
  let lastSequence = 0;
  let applied = 0;
  let counted = 0;

  for (const { commit, streamSequence } of batch) {
    lastSequence = Math.max(lastSequence, streamSequence);
    for (const event of commit.events) {
      if (event.aggregateType === 'payment') {
        const { tripId } = event.data;
        const current = payments.get(tripId);
        if (current && current.version >= event.version) continue;
        const payment = { paymentId: event.aggregateId, status: paymentStatusAfter(event), version: event.version };
        payments.set(tripId, payment);
        const trip = trips.get(tripId);
        if (trip && trip.paymentVersion < event.version) trips.set(tripId, { ...trip, paymentStatus: payment.status, paymentVersion: payment.version });
        continue;
      }
      if (event.aggregateType !== 'trip') {
        const name = nameOf(event);
        if (name === null) continue;
        const party = event.aggregateType === 'passenger' ? parties[0] : parties[1];
        const current = known[party.kind].get(event.aggregateId);
        if (current && current.version >= event.version) continue;
        known[party.kind].set(event.aggregateId, { name, version: event.version });
        for (const [id, trip] of trips) {
          if (trip[party.idField] === event.aggregateId && trip[party.versionField] < event.version) {
            trips.set(id, { ...trip, [party.nameField]: name, [party.versionField]: event.version });
          }
        }
        continue;
      }
      const before = trips.get(event.aggregateId) ?? null;
      const version = before?.version ?? 0;
      if (event.version <= version) continue;
      if (event.version !== version + 1) {
        throw new VersionGapError(`trip-history: trip ${event.aggregateId} event ${event.version} arrived before ${version + 1}.`);
      }
      const after = evolveTrip(before, event, names, payments);
      if (after === null) continue;
      trips.set(event.aggregateId, after);
      applied++;
      if (streamSequence > position) {
        addTransition(increments, before?.state ?? null, after.state);
        counted++;
      }
    }
  }

  const steps: WriteStep[] = [];
  const inc = Object.fromEntries([...increments].filter(([, n]) => n !== 0));
  if (Object.keys(inc).length > 0) {
    steps.push({
      collection: TRIP_STATS,
      ops: [{ updateOne: { filter: { _id: scope.statsId, position: { $lt: lastSequence } }, update: { $inc: inc, $set: { position: lastSequence } } } }],
    });
  }

  const tripOps: AnyBulkWriteOperation<KeyedDocument>[] = [];
  for (const [id, after] of trips) {
    const before = stored.get(id);
    if (before?.version === after.version) continue; // unchanged, or changed only by a rename or a payment (below)
    tripOps.push(
      before
        ? { replaceOne: { filter: { _id: id, version: before.version }, replacement: after } }
        : { insertOne: { document: after } },
    );
  }
  // The stored trips the batch did not move on but whose names or payment status it changed:
  // one `updateOne` per trip, whatever changed in it (a passenger's and a driver's rename, a payment).
  const patches = new Map<string, { guards: Document; set: Document }>();
  const patch = (tripId: string, versionField: string, version: number, set: Document) => {
    const found = patches.get(tripId) ?? { guards: {}, set: {} };
    found.guards[versionField] = { $lt: version };
    Object.assign(found.set, set, { [versionField]: version });
    patches.set(tripId, found);
  };
  const nameSteps: WriteStep[] = [];
  for (const party of parties) {
    const lookupOps: AnyBulkWriteOperation<KeyedDocument>[] = [];
    for (const [id, { name, version }] of known[party.kind]) {
      const before = storedNames[party.kind].get(id);
      if (before?.version === version) continue;
      const _id = scope.lookupId(id);
      lookupOps.push(
        before
          ? { updateOne: { filter: { _id, version: { $lt: version } }, update: { $set: { name, version } } } }
          : { insertOne: { document: { _id, name, version } } },
      );
      // The stored trips still showing an older name (all of the person's stored trips were
      // loaded); those the batch moved on already carry the name in their replacement. A
      // registration before any trip (the common case) costs no write on `trips`.
      for (const trip of state.trips) {
        if (trip[party.idField] !== id || trip[party.versionField] >= version) continue;
        if (trips.get(trip._id)?.version !== trip.version) continue;
        patch(trip._id, party.versionField, version, { [party.nameField]: name });
      }
    }
    if (lookupOps.length > 0) nameSteps.push({ collection: party.collection, ops: lookupOps });
  }
  const paymentOps: AnyBulkWriteOperation<KeyedDocument>[] = [];
  for (const [tripId, { paymentId, status, version }] of payments) {
    const before = storedPayments.get(tripId);
    if (before?.version === version) continue;
    paymentOps.push(
      before
        ? { updateOne: { filter: { _id: tripId, version: { $lt: version } }, update: { $set: { paymentId, status, version } } } }
        : { insertOne: { document: { _id: tripId, paymentId, status, version } } },
    );
    const trip = stored.get(tripId);
    if (trip && trip.paymentVersion < version && trips.get(tripId)?.version === trip.version) patch(tripId, 'paymentVersion', version, { paymentStatus: status });
  }
  for (const [_id, { guards, set }] of patches) tripOps.push({ updateOne: { filter: { _id, ...guards }, update: { $set: set } } });
  if (tripOps.length > 0) steps.push({ collection: TRIPS, ops: tripOps });
  steps.push(...nameSteps);
  if (paymentOps.length > 0) steps.push({ collection: PAYMENTS, ops: paymentOps });
  return { steps, applied, counted };
}
