import type { EventEnvelope } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { VersionGapError } from '../aggregate-view.ts';
import { mergeById, planTripHistoryBatch, tripHistoryFilters, tripHistoryKeys } from './trip-history-plan.ts';
import { applyInMemory, deliveriesOf, envelope, InMemoryStore, prepareInMemory, snapshot } from './trip-history.testing.ts';
import { emptyTripStats } from './trip-history.ts';

const created = (tripId: string, passengerId: string, version = 1) =>
  envelope('trip', tripId, version, {
    type: 'TripCreated',
    data: { tripId, passengerId, start: { lng: 0, lat: 0 }, end: { lng: 0.1, lat: 0 }, distanceKm: 11.1, fare: 30.2, requestedAt: 'r' },
  });
const confirmed = (tripId: string, version = 2) => envelope('trip', tripId, version, { type: 'TripConfirmed', data: { tripId } });
const passenger = (id: string, name: string, version: number) =>
  version === 1
    ? envelope('passenger', id, 1, { type: 'PassengerRegistered', data: { passengerId: id, name } })
    : envelope('passenger', id, version, { type: 'PassengerDetailsUpdated', data: { passengerId: id, name } });
const driver = (id: string, name: string, version: number) =>
  envelope('driver', id, version, {
    type: version === 1 ? 'DriverRegistered' : 'DriverDetailsUpdated',
    data: { driverId: id, name, vehicle: { plate: 'AB-1', model: 'Zoe' } },
  } as never) as EventEnvelope<'driver'>;
const assign = (tripId: string, driverId: string): EventEnvelope<'trip'>[] => [
  envelope('trip', tripId, 3, { type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: [driverId] } }),
  envelope('trip', tripId, 4, { type: 'DriverAcceptedTrip', data: { tripId, driverId, position: { lng: 0, lat: 0 }, acceptedAt: 'a' } }),
  envelope('trip', tripId, 5, { type: 'TripDriverAssigned', data: { tripId, driverId } }),
];

const payment = (tripId: string, version: number, type: 'PaymentCreated' | 'PaymentPaid' | 'PaymentRefunded') =>
  envelope('payment', tripId, version, (
    type === 'PaymentCreated'
      ? { type, data: { paymentId: tripId, tripId, passengerId: 'p1', amount: 120 } }
      : type === 'PaymentPaid'
        ? { type, data: { paymentId: tripId, tripId, amount: 120 } }
        : { type, data: { paymentId: tripId, tripId, amount: 120, reason: 'Trip cancelled.' } }
  ) as never) as EventEnvelope<'payment'>;

/** Applies each list of events as one batch, numbering stream sequences on. */
function run(...batches: EventEnvelope[][]) {
  const store = new InMemoryStore();
  prepareInMemory(store);
  let sequence = 1;
  for (const events of batches) {
    applyInMemory(store, deliveriesOf(events, sequence));
    sequence += events.length;
  }
  return snapshot(store);
}

describe('trip history batches', () => {
  it('given a created trip, when its payment is created then paid in later batches, then the trip shows PAID at the payment version and its own version is unchanged', () => {
    const { trips, payments } = run([created('t1', 'p1')], [payment('t1', 1, 'PaymentCreated')], [payment('t1', 2, 'PaymentPaid'), confirmed('t1')]);
    expect(trips[0]).toMatchObject({ paymentStatus: 'PAID', paymentVersion: 2, version: 2, state: 'CONFIRMED' });
    expect(payments).toEqual([{ _id: 't1', paymentId: 't1', status: 'PAID', version: 2 }]);
  });

  it('given a trip without payment events, then its payment status is NONE', () => {
    expect(run([created('t1', 'p1'), confirmed('t1')]).trips[0]).toMatchObject({ paymentStatus: 'NONE', paymentVersion: 0 });
  });

  it('given payment events seen before their trip, when the trip is created later, then it shows the latest status', () => {
    const { trips } = run([payment('t1', 1, 'PaymentCreated'), payment('t1', 2, 'PaymentPaid')], [payment('t1', 3, 'PaymentRefunded'), created('t1', 'p1')]);
    expect(trips[0]).toMatchObject({ paymentStatus: 'REFUNDED', paymentVersion: 3 });
  });

  it('given a paid trip, when an older payment event is redelivered, then the status does not go back', () => {
    const paid = [created('t1', 'p1'), payment('t1', 1, 'PaymentCreated'), payment('t1', 2, 'PaymentPaid')];
    expect(run(paid, [payment('t1', 1, 'PaymentCreated')]).trips[0]).toMatchObject({ paymentStatus: 'PAID', paymentVersion: 2 });
  });

  it('given a trip projected before its passenger registers, when the registration arrives in a later batch, then the trip gets the name', () => {
    const { trips, passengerNames } = run([created('t1', 'p1'), confirmed('t1')], [passenger('p1', 'Ada', 1)]);
    expect(trips[0]).toMatchObject({ passengerName: 'Ada', passengerNameVersion: 1, state: 'CONFIRMED' });
    expect(passengerNames).toEqual([{ _id: 'p1', name: 'Ada', version: 1 }]);
  });

  it('given the trip and the registration in one batch, trip first, then the trip gets the name from the same batch', () => {
    expect(run([created('t1', 'p1'), passenger('p1', 'Ada', 1)]).trips[0]).toMatchObject({ passengerName: 'Ada', passengerNameVersion: 1 });
  });

  it('given a rename, then every trip of that passenger shows the new name and the others do not change', () => {
    const { trips } = run([passenger('p1', 'Ada', 1), passenger('p2', 'Bob', 1), created('t1', 'p1'), created('t2', 'p1'), created('t3', 'p2')], [passenger('p1', 'Ada L.', 2)]);
    expect(trips.map((trip) => [trip._id, trip.passengerName, trip.passengerNameVersion])).toEqual([
      ['t1', 'Ada L.', 2],
      ['t2', 'Ada L.', 2],
      ['t3', 'Bob', 1],
    ]);
  });

  it('given a driver renamed after the assignment, then the trip shows the new driver name', () => {
    const { trips } = run([driver('d1', 'Ayrton', 1), created('t1', 'p1'), confirmed('t1'), ...assign('t1', 'd1')], [driver('d1', 'Ayrton S.', 2)]);
    expect(trips[0]).toMatchObject({ driverId: 'd1', driverName: 'Ayrton S.', driverNameVersion: 2 });
  });

  it('given a registration with no trip stored yet, then the plan writes nothing on trips', () => {
    const plan = planTripHistoryBatch({ trips: [], passengerNames: [], driverNames: [], payments: [], stats: emptyTripStats() }, deliveriesOf([passenger('p1', 'Ada', 1)]));
    expect(plan.steps.map((step) => step.collection)).toEqual(['trip_history_passenger_names']);
  });

  it('given an older name delivered after a newer one, then the newer name stays', () => {
    const { passengerNames, trips } = run([passenger('p1', 'Ada', 1), passenger('p1', 'Ada L.', 2), created('t1', 'p1')], [passenger('p1', 'Ada', 1)]);
    expect(passengerNames[0]).toMatchObject({ name: 'Ada L.', version: 2 });
    expect(trips[0]).toMatchObject({ passengerName: 'Ada L.', passengerNameVersion: 2 });
  });

  it('given a batch delivered twice, then the second delivery changes nothing', () => {
    const events = [passenger('p1', 'Ada', 1), created('t1', 'p1'), confirmed('t1')];
    const store = new InMemoryStore();
    prepareInMemory(store);
    applyInMemory(store, deliveriesOf(events));
    const first = snapshot(store);
    expect(applyInMemory(store, deliveriesOf(events))).toBe(0);
    expect(snapshot(store)).toEqual(first);
  });

  it('given a trip event whose predecessor is missing, then the batch is refused with a version gap', () => {
    const state = { trips: [], passengerNames: [], driverNames: [], payments: [], stats: emptyTripStats() };
    expect(() => planTripHistoryBatch(state, deliveriesOf([confirmed('t1')]))).toThrow(VersionGapError);
  });
});

describe('trip statistics', () => {
  it('given trips created and moved on, then the counts follow each trip to its current state', () => {
    const { stats } = run(
      [created('t1', 'p1'), created('t2', 'p1'), confirmed('t1')],
      [envelope('trip', 't2', 2, { type: 'TripRejected', data: { tripId: 't2', reason: 'too far' } }), created('t3', 'p1')],
    );
    expect(stats).toMatchObject({ total: 3, byState: { CREATED: 1, CONFIRMED: 1, REJECTED: 1, CANCELLED: 0 }, position: 5 });
  });

  it('given stats written but the trips not (a crash between them), when the batch is delivered again, then nothing is counted twice', () => {
    const events = [created('t1', 'p1'), confirmed('t1')];
    const store = new InMemoryStore();
    prepareInMemory(store);
    store.crashBudget = 1; // the stats write succeeds, the next write crashes
    expect(() => applyInMemory(store, deliveriesOf(events))).toThrow(/crashed/);
    expect(snapshot(store).trips).toEqual([]);
    store.crashBudget = Infinity;
    applyInMemory(store, deliveriesOf(events));
    expect(snapshot(store)).toMatchObject({ stats: { total: 1, byState: { CONFIRMED: 1, CREATED: 0 } }, trips: [{ state: 'CONFIRMED' }] });
  });

  it('given a batch already counted, then the plan has no stats write', () => {
    const stats = { ...emptyTripStats(), position: 10 };
    const plan = planTripHistoryBatch({ trips: [], passengerNames: [], driverNames: [], payments: [], stats }, deliveriesOf([created('t1', 'p1')], 3));
    expect(plan.steps.map((step) => step.collection)).toEqual(['trips']);
    expect(plan).toMatchObject({ applied: 1, counted: 0 });
  });
});

describe('what a batch reads', () => {
  it('given trip events only, then trips are read by _id alone, with no find of renamed people', () => {
    const filters = tripHistoryFilters(tripHistoryKeys(deliveriesOf([created('t1', 'p1'), confirmed('t1')])));
    expect(filters.trips).toEqual({ _id: { $in: ['t1'] } });
    expect(filters.tripsOfRenamed).toEqual([]);
    expect(filters.passengerNames).toEqual({ _id: { $in: ['p1'] } });
  });

  it('given a passenger and a driver renamed, then their stored trips are read by one find per field', () => {
    const filters = tripHistoryFilters(tripHistoryKeys(deliveriesOf([created('t1', 'p1'), passenger('p2', 'Ann', 2), driver('d1', 'Bob', 2)])));
    expect(filters.trips).toEqual({ _id: { $in: ['t1'] } });
    expect(filters.tripsOfRenamed).toEqual([{ passengerId: { $in: ['p2'] } }, { driverId: { $in: ['d1'] } }]);
  });

  it('given a trip found by both finds, when merged, then it is there once', () => {
    const t1 = { _id: 't1', version: 2 };
    expect(mergeById([t1], [t1, { _id: 't2', version: 1 }])).toEqual([t1, { _id: 't2', version: 1 }]);
  });
});

describe('a flush of many deliveries (a projector far behind the head)', () => {
  /** The ids each write of a plan step targets. */
  const targets = (ops: readonly object[]) =>
    ops.map((op) => {
      const [write] = Object.values(op) as Array<{ filter?: { _id: string }; document?: { _id: string } }>;
      return write!.filter?._id ?? write!.document?._id;
    });

  it('given stored trips, when one flush holds their later events, two renames of their passenger, a rename of their driver and a payment, then each document is written once, with its final state, as the deliveries one by one would leave it', () => {
    const stored = [passenger('p1', 'Ada', 1), driver('d1', 'Bob', 1), created('t1', 'p1'), confirmed('t1'), ...assign('t1', 'd1'), created('t2', 'p1')];
    const flush = [
      confirmed('t2'),
      passenger('p1', 'Ada L.', 2),
      created('t3', 'p1'),
      driver('d1', 'Bob M.', 2),
      payment('t1', 1, 'PaymentCreated'),
      passenger('p1', 'Ada Lovelace', 3),
      payment('t1', 2, 'PaymentPaid'),
      confirmed('t3'),
    ];
    const store = new InMemoryStore();
    prepareInMemory(store);
    applyInMemory(store, deliveriesOf(stored));
    const before = snapshot(store);

    const plan = planTripHistoryBatch(
      { trips: before.trips, passengerNames: before.passengerNames, driverNames: before.driverNames, payments: before.payments, stats: before.stats },
      deliveriesOf(flush, stored.length + 1),
    );

    for (const { ops } of plan.steps) expect(new Set(targets(ops)).size).toBe(ops.length);
    const trips = plan.steps.find((step) => step.collection === 'trips')!.ops;
    expect(trips).toContainEqual({
      updateOne: {
        filter: { _id: 't1', passengerNameVersion: { $lt: 3 }, driverNameVersion: { $lt: 2 }, paymentVersion: { $lt: 2 } },
        update: { $set: { passengerName: 'Ada Lovelace', passengerNameVersion: 3, driverName: 'Bob M.', driverNameVersion: 2, paymentStatus: 'PAID', paymentVersion: 2 } },
      },
    });
    expect(targets(trips).sort()).toEqual(['t1', 't2', 't3']);

    for (const { collection, ops } of plan.steps) store.bulkWrite(collection, ops);
    const oneByOne = new InMemoryStore();
    prepareInMemory(oneByOne);
    [...stored, ...flush].forEach((event, i) => applyInMemory(oneByOne, deliveriesOf([event], i + 1)));
    expect(snapshot(store)).toEqual(snapshot(oneByOne));
    expect(snapshot(store).trips.map((trip) => [trip._id, trip.passengerName, trip.version])).toEqual([
      ['t1', 'Ada Lovelace', 5],
      ['t2', 'Ada Lovelace', 2],
      ['t3', 'Ada Lovelace', 2],
    ]);
  });
});
