/**
 * Convergence of the trip history, property-based: random histories (passengers and drivers
 * renamed while trips are in flight, trips walking legal paths, their payments walking theirs
 * in logs of their own), laid out in the stream in a
 * random interleaving that keeps each aggregate's order, then delivered in random batches with
 * duplicates, late redeliveries, rewinds and crashes part-way through a batch's writes. The end
 * state must equal that of one in-order pass, and of a pass where every name is known first.
 */
import type { DriverEvent, PassengerEvent, PaymentEvent, TripEvent, TripStatus } from '@happyride/domain';
import type { Delivery, EventEnvelope } from '@happyride/eventstore';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyInMemory, commitOf, CrashError, envelope, InMemoryStore, prepareInMemory, snapshot } from './trip-history.testing.ts';
import { emptyStateCounts, paymentStatusAfter } from './trip-history.ts';

type Step = (state: WalkState) => TripEvent | 'stop';
interface WalkState {
  tripId: string;
  status: TripStatus;
  candidates: string[];
  accepted: string[];
  requestedBy?: 'passenger' | 'driver';
}

const stop: Step = () => 'stop';
const cancelledBy = (by: 'passenger' | 'driver' | 'admin'): Step => ({ tripId }) => ({ type: 'TripCancelled', data: { tripId, reason: 'r', cancelledBy: by } });

/** The legal next events of a trip in each state, plus stopping there (a trip still in flight). */
function options(state: WalkState): Step[] {
  const { tripId } = state;
  switch (state.status) {
    case 'CREATED':
      return [stop, () => ({ type: 'TripConfirmed', data: { tripId } }), () => ({ type: 'TripRejected', data: { tripId, reason: 'invalid' } }), cancelledBy('passenger')];
    case 'CONFIRMED':
      return [
        stop,
        () => ({ type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: state.candidates } }),
        () => ({ type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVERS_AVAILABLE' } }),
        cancelledBy('passenger'),
      ];
    case 'DISPATCHING': {
      const waiting = state.candidates.filter((id) => !state.accepted.includes(id));
      return [
        stop,
        ...waiting.map((driverId): Step => () => ({ type: 'DriverAcceptedTrip', data: { tripId, driverId, position: { lng: 0, lat: 0 }, acceptedAt: 'a' } })),
        ...state.accepted.map((driverId): Step => () => ({ type: 'TripDriverAssigned', data: { tripId, driverId } })),
        ...state.accepted.map((driverId): Step => () => ({ type: 'TripDriverAssigned', data: { tripId, driverId } })),
        () => ({ type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVER_ACCEPTED' } }),
        cancelledBy('passenger'),
      ];
    }
    case 'DRIVER_ASSIGNED':
      return [
        stop,
        () => ({ type: 'TripStarted', data: { tripId, startedAt: 's' } }),
        () => ({ type: 'TripStarted', data: { tripId, startedAt: 's' } }),
        () => ({ type: 'TripCancellationRequested', data: { tripId, requestedBy: 'passenger', reason: 'late' } }),
        () => ({ type: 'TripCancellationRequested', data: { tripId, requestedBy: 'driver', reason: 'tyre' } }),
        cancelledBy('admin'),
      ];
    case 'CANCELLATION_REQUESTED':
      return [stop, cancelledBy(state.requestedBy ?? 'passenger'), () => ({ type: 'TripCancellationResolutionRequired', data: { tripId } }), cancelledBy('admin')];
    case 'STARTED':
      return [stop, () => ({ type: 'TripFinished', data: { tripId, finishedAt: 'f' } })];
    default:
      return [stop];
  }
}

const nextStatus: Partial<Record<TripEvent['type'], TripStatus>> = {
  TripConfirmed: 'CONFIRMED',
  TripRejected: 'REJECTED',
  TripDispatchStarted: 'DISPATCHING',
  TripDriverAssigned: 'DRIVER_ASSIGNED',
  TripDispatchFailed: 'DISPATCH_FAILED',
  TripStarted: 'STARTED',
  TripFinished: 'FINISHED',
  TripCancellationRequested: 'CANCELLATION_REQUESTED',
  TripCancelled: 'CANCELLED',
  TripCancellationResolutionRequired: 'DRIVER_ASSIGNED',
};

function walkTrip(tripId: string, passengerId: string, candidates: string[], choices: number[]): TripEvent[] {
  const events: TripEvent[] = [
    { type: 'TripCreated', data: { tripId, passengerId, start: { lng: 0, lat: 0 }, end: { lng: 0.1, lat: 0.1 }, distanceKm: 15.7, fare: 39.4, requestedAt: `r-${tripId}` } },
  ];
  const state: WalkState = { tripId, status: 'CREATED', candidates, accepted: [] };
  for (const choice of choices) {
    const steps = options(state);
    const event = steps[choice % steps.length]!(state);
    if (event === 'stop') break;
    events.push(event);
    state.status = nextStatus[event.type] ?? state.status;
    if (event.type === 'DriverAcceptedTrip') state.accepted.push(event.data.driverId);
    if (event.type === 'TripCancellationRequested') state.requestedBy = event.data.requestedBy;
  }
  return events;
}

/** A payment's legal path, by choices: created, then paid or declined, then refunded or cancelled. */
function walkPayment(tripId: string, passengerId: string, choices: number[]): PaymentEvent[] {
  if (choices.length === 0) return [];
  const paymentId = tripId; // the trip creation saga derives the payment id from the trip id
  const events: PaymentEvent[] = [{ type: 'PaymentCreated', data: { paymentId, tripId, passengerId, amount: 120 } }];
  const [settle, close] = choices.slice(1);
  if (settle === undefined) return events;
  if (settle % 3 === 0) events.push({ type: 'PaymentCancelled', data: { paymentId, tripId, reason: 'rejected' } });
  else if (settle % 3 === 1) {
    events.push({ type: 'PaymentPaid', data: { paymentId, tripId, amount: 120 } });
    if (close !== undefined && close % 2 === 0) events.push({ type: 'PaymentRefunded', data: { paymentId, tripId, amount: 120, reason: 'cancelled' } });
  } else {
    events.push({ type: 'PaymentDeclined', data: { paymentId, tripId, reason: 'declined' } });
    if (close !== undefined && close % 2 === 0) events.push({ type: 'PaymentCancelled', data: { paymentId, tripId, reason: 'rejected' } });
  }
  return events;
}

const historyArbitrary = fc.record({
  passengers: fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 4 }), { minLength: 5, maxLength: 7 }),
  drivers: fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 4 }), { minLength: 3, maxLength: 5 }),
  trips: fc.array(
    fc.record({
      passenger: fc.nat(),
      candidates: fc.uniqueArray(fc.nat(4), { minLength: 1, maxLength: 3 }),
      walk: fc.array(fc.nat(), { minLength: 3, maxLength: 10 }),
      payment: fc.array(fc.nat(), { maxLength: 3 }),
    }),
    { minLength: 10, maxLength: 14 },
  ),
  commitSizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 40 }),
  interleaving: fc.array(fc.nat(), { minLength: 1, maxLength: 300 }),
  deliveries: fc.array(
    fc.record({ size: fc.integer({ min: 1, max: 15 }), duplicate: fc.nat(7), late: fc.nat(7), rewind: fc.nat(15), crash: fc.nat(4), crashAfter: fc.nat(12) }),
    { minLength: 1, maxLength: 100 },
  ),
});
type History = typeof historyArbitrary extends fc.Arbitrary<infer T> ? T : never;

const at = (aggregate: number, version: number) => new Date(Date.UTC(2026, 0, 1) + (aggregate * 100 + version) * 1000).toISOString();

/** Per aggregate, its commits in order (1 to 3 events each). */
function aggregateLogs(history: History): Delivery['commit'][][] {
  const logs: Delivery['commit'][][] = [];
  let sizeIndex = 0;
  const add = (events: EventEnvelope[]) => {
    const commits: Delivery['commit'][] = [];
    for (let i = 0; i < events.length; ) {
      const size = history.commitSizes[sizeIndex++ % history.commitSizes.length]!;
      commits.push(commitOf(events.slice(i, i + size)));
      i += size;
    }
    logs.push(commits);
  };
  history.passengers.forEach((kinds, p) => {
    const id = `p${p}`;
    const events: PassengerEvent[] = [{ type: 'PassengerRegistered', data: { passengerId: id, name: `P${p} v1` } }];
    let banned = false;
    for (const kind of kinds) {
      if (kind === 2) events.push(banned ? { type: 'PassengerUnbanned', data: { passengerId: id } } : { type: 'PassengerBanned', data: { passengerId: id } });
      else events.push({ type: 'PassengerDetailsUpdated', data: { passengerId: id, name: `P${p} v${events.length + 1}` } });
      if (kind === 2) banned = !banned;
    }
    add(events.map((event, i) => envelope('passenger', id, i + 1, event, at(logs.length, i + 1))));
  });
  history.drivers.forEach((kinds, d) => {
    const id = `d${d}`;
    const vehicle = { plate: `D${d}`, model: 'Zoe' };
    const events: DriverEvent[] = [{ type: 'DriverRegistered', data: { driverId: id, name: `D${d} v1`, vehicle } }];
    for (const kind of kinds) {
      if (kind === 2) events.push({ type: events.length % 2 ? 'DriverWentOnline' : 'DriverWentOffline', data: { driverId: id } });
      else events.push({ type: 'DriverDetailsUpdated', data: { driverId: id, name: `D${d} v${events.length + 1}`, vehicle } });
    }
    add(events.map((event, i) => envelope('driver', id, i + 1, event, at(logs.length, i + 1))));
  });
  history.trips.forEach((trip, t) => {
    const id = `t${t}`;
    const candidates = trip.candidates.map((c) => `d${c % history.drivers.length}`).filter((c, i, all) => all.indexOf(c) === i);
    const passengerId = `p${trip.passenger % (history.passengers.length + 1)}`; // one passenger never registers
    const events = walkTrip(id, passengerId, candidates, trip.walk);
    add(events.map((event, i) => envelope('trip', id, i + 1, event, at(logs.length, i + 1))));
    const payment = walkPayment(id, passengerId, trip.payment);
    if (payment.length > 0) add(payment.map((event, i) => envelope('payment', id, i + 1, event, at(logs.length, i + 1))));
  });
  return logs;
}

/** Merges the logs into one stream in an order given by `choices`, each log keeping its order. */
function interleave(logs: Delivery['commit'][][], choices: number[]): Delivery[] {
  const queues = logs.map((log) => [...log]);
  const stream: Delivery[] = [];
  let sequence = 0;
  for (let i = 0; queues.some((queue) => queue.length > 0); i++) {
    const open = queues.filter((queue) => queue.length > 0);
    const choice = choices[i % choices.length]!;
    sequence += 1 + (choice % 3 === 0 ? 1 : 0); // other subjects' messages leave gaps
    stream.push({ commit: open[choice % open.length]!.shift()!, streamSequence: sequence, deliveryCount: 1 });
  }
  return stream;
}

/** One in-order pass in a single batch. */
function singlePass(stream: Delivery[]) {
  const store = new InMemoryStore();
  prepareInMemory(store);
  applyInMemory(store, stream);
  return snapshot(store);
}

/** Delivers `stream` as a durable consumer would, with the faults `plan` describes. */
function deliverWithFaults(stream: Delivery[], plan: History['deliveries']) {
  const store = new InMemoryStore();
  prepareInMemory(store);
  let next = 0; // first unacknowledged delivery
  for (let round = 0; next < stream.length; round++) {
    if (round > 10_000) throw new Error('no progress');
    // Faults for as many rounds as the plan has, then a clean run to the end (a consumer recovers).
    const fault = plan[round] ?? { size: 10, duplicate: 1, late: 1, rewind: 1, crash: 1, crashAfter: 0 };
    const batch = stream.slice(next, next + fault.size);
    const handed = [...batch];
    if (fault.duplicate === 0) handed.splice(fault.crashAfter % handed.length, 0, { ...handed[fault.crashAfter % handed.length]!, deliveryCount: 2 });
    if (fault.late === 0 && next > 0) handed.unshift({ ...stream[fault.crashAfter % next]!, deliveryCount: 2 }); // an ack that got lost
    if (fault.crash === 0) store.crashBudget = fault.crashAfter;
    try {
      applyInMemory(store, handed);
      next += batch.length;
      if (fault.rewind === 0) next = Math.max(0, next - fault.crashAfter); // delivered again from further back, in order
    } catch (error) {
      if (!(error instanceof CrashError)) throw error;
    } finally {
      store.crashBudget = Infinity;
    }
  }
  return snapshot(store);
}

const withoutPosition = ({ stats: { position: _position, ...stats }, ...rest }: ReturnType<typeof snapshot>) => ({ ...rest, stats });

describe('trip history convergence (property)', () => {
  it('given any interleaving, batching, duplicates and crashes, then trips, names and stats equal a single in-order pass', () => {
    fc.assert(
      fc.property(historyArbitrary, (history) => {
        const logs = aggregateLogs(history);
        const stream = interleave(logs, history.interleaving);
        const isTrip = (log: Delivery['commit'][]) => log[0]!.aggregateType === 'trip';
        const namesFirst = [...logs.filter((log) => !isTrip(log)), ...logs.filter(isTrip)]
          .flat()
          .map((commit, i): Delivery => ({ commit, streamSequence: i + 1, deliveryCount: 1 }));
        const actual = deliverWithFaults(stream, history.deliveries);
        const inOrder = singlePass(stream);
        expect(withoutPosition(actual)).toEqual(withoutPosition(inOrder));
        expect(withoutPosition(actual)).toEqual(withoutPosition(singlePass(namesFirst)));

        // Oracles independent of the projector: last names, and stats counted from the trips.
        const lastName = new Map<string, { name: string; version: number }>();
        for (const { commit } of stream) for (const event of commit.events) if ('name' in event.data) lastName.set(event.aggregateId, { name: event.data.name, version: event.version });
        for (const trip of actual.trips) {
          expect([trip.passengerName, trip.passengerNameVersion]).toEqual([lastName.get(trip.passengerId)?.name ?? null, lastName.get(trip.passengerId)?.version ?? 0]);
          if (trip.driverId) expect([trip.driverName, trip.driverNameVersion]).toEqual([lastName.get(trip.driverId)!.name, lastName.get(trip.driverId)!.version]);
        }
        const lastPayment = new Map<string, { status: string; version: number }>();
        for (const { commit } of stream) {
          for (const event of commit.events) {
            if (event.aggregateType === 'payment') lastPayment.set(event.data.tripId, { status: paymentStatusAfter(event), version: event.version });
          }
        }
        for (const trip of actual.trips) {
          expect([trip.paymentStatus, trip.paymentVersion]).toEqual([lastPayment.get(trip._id)?.status ?? 'NONE', lastPayment.get(trip._id)?.version ?? 0]);
        }
        const counts = emptyStateCounts();
        for (const trip of actual.trips) counts[trip.state]++;
        expect(actual.stats).toMatchObject({ total: actual.trips.length, byState: counts });
        expect(actual.trips).toHaveLength(history.trips.length);
      }),
      { numRuns: 100 },
    );
  });
});
