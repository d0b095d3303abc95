/**
 * A generated, realistic history for benchmarks (`bench:projections`, `bench:idle`): trips with
 * their dispatch, passengers and drivers renamed and going on and offline along the way.
 */
import type { DriverEvent, PassengerEvent, TripEvent } from '@happyride/domain';
import { envelop, type Commit, type JetStreamEventStore } from '@happyride/eventstore';

export interface HistoryShape {
  tripCount: number;
  passengerCount: number;
  driverCount: number;
  /** Trips in flight at any time. */
  window: number;
}

/** mulberry32: a seeded generator, so every run replays the same history. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A history, as commits in stream order (the same one for the same shape): every person registers first; then `window` trips
 * are in flight at any time (a trip's events sit close together, as in a live system), while
 * passengers and drivers get renamed and drivers go on and offline in between.
 */
export function generateHistory({ tripCount, passengerCount, driverCount, window }: HistoryShape): Commit[] {
  const rnd = random(42);
  const pick = (n: number) => Math.floor(rnd() * n);
  const versions = new Map<string, number>();
  const commits: Commit[] = [];
  let clock = Date.UTC(2026, 0, 1);
  const append = <A extends 'passenger' | 'driver' | 'trip'>(type: A, id: string, event: A extends 'trip' ? TripEvent : A extends 'driver' ? DriverEvent : PassengerEvent) => {
    const version = versions.get(id) ?? 0;
    clock += 250;
    const commit = envelop(type, id, [event] as never, version, { commandId: `${id}:${version + 1}`, correlationId: 'bench', now: new Date(clock).toISOString() });
    versions.set(id, version + 1);
    commits.push(commit as Commit);
  };
  const vehicle = { plate: 'AB-123', model: 'Zoe' };
  for (let p = 0; p < passengerCount; p++) append('passenger', `p${p}`, { type: 'PassengerRegistered', data: { passengerId: `p${p}`, name: `Passenger ${p}` } });
  for (let d = 0; d < driverCount; d++) append('driver', `d${d}`, { type: 'DriverRegistered', data: { driverId: `d${d}`, name: `Driver ${d}`, vehicle } });

  type Flight = { id: string; steps: TripEvent[] };
  const flights: Flight[] = [];
  let started = 0;
  const newFlight = (): Flight => {
    const tripId = `t${started++}`;
    const passengerId = `p${pick(passengerCount)}`;
    const candidates = [...new Set([pick(driverCount), pick(driverCount), pick(driverCount)])].map((d) => `d${d}`);
    const position = { lng: 2.35, lat: 48.85 };
    const steps: TripEvent[] = [
      { type: 'TripCreated', data: { tripId, passengerId, start: position, end: { lng: 2.29, lat: 48.86 }, distanceKm: 4.9, fare: 17.8, requestedAt: new Date(clock).toISOString() } },
    ];
    const fate = rnd();
    if (fate < 0.05) return { id: tripId, steps: [...steps, { type: 'TripRejected', data: { tripId, reason: 'too far' } }] };
    steps.push({ type: 'TripConfirmed', data: { tripId } });
    if (fate < 0.1) return { id: tripId, steps: [...steps, { type: 'TripDispatchFailed', data: { tripId, reason: 'NO_DRIVERS_AVAILABLE' } }] };
    steps.push({ type: 'TripDispatchStarted', data: { tripId, candidateDriverIds: candidates } });
    for (const driverId of candidates) steps.push({ type: 'DriverAcceptedTrip', data: { tripId, driverId, position, acceptedAt: new Date(clock).toISOString() } });
    if (fate < 0.15) return { id: tripId, steps: [...steps, { type: 'TripCancelled', data: { tripId, reason: 'changed my mind', cancelledBy: 'passenger' } }] };
    steps.push({ type: 'TripDriverAssigned', data: { tripId, driverId: candidates[0]! } });
    if (fate < 0.2) {
      steps.push({ type: 'TripCancellationRequested', data: { tripId, requestedBy: 'driver', reason: 'flat tyre' } });
      return { id: tripId, steps: [...steps, { type: 'TripCancelled', data: { tripId, reason: 'flat tyre', cancelledBy: 'driver' } }] };
    }
    steps.push({ type: 'TripStarted', data: { tripId, startedAt: new Date(clock).toISOString() } });
    if (fate < 0.97) steps.push({ type: 'TripFinished', data: { tripId, finishedAt: new Date(clock).toISOString() } }); // the rest are still running
    return { id: tripId, steps };
  };
  while (flights.length < window && started < tripCount) flights.push(newFlight());
  while (flights.length > 0) {
    const r = rnd();
    if (r < 0.01) {
      const p = pick(passengerCount);
      append('passenger', `p${p}`, { type: 'PassengerDetailsUpdated', data: { passengerId: `p${p}`, name: `Passenger ${p} (${commits.length})` } });
    } else if (r < 0.0105) {
      const d = pick(driverCount);
      append('driver', `d${d}`, { type: 'DriverDetailsUpdated', data: { driverId: `d${d}`, name: `Driver ${d} (${commits.length})`, vehicle } });
    } else if (r < 0.03) {
      const d = pick(driverCount);
      append('driver', `d${d}`, { type: rnd() < 0.5 ? 'DriverWentOnline' : 'DriverWentOffline', data: { driverId: `d${d}` } });
    } else {
      const index = pick(flights.length);
      const flight = flights[index]!;
      append('trip', flight.id, flight.steps.shift()!);
      if (flight.steps.length === 0) {
        if (started < tripCount) flights[index] = newFlight();
        else flights.splice(index, 1);
      }
    }
  }
  return commits;
}

/** Appends commits through the event store, many aggregates at a time, each aggregate's in order. */
export async function appendHistory(store: JetStreamEventStore, commits: readonly Commit[], correlationId: string): Promise<void> {
  const inFlight = new Map<string, Promise<unknown>>();
  for (const commit of commits) {
    const key = `${commit.aggregateType}.${commit.aggregateId}`;
    const events = commit.events.map(({ type, data }) => ({ type, data })) as never;
    const meta = { commandId: commit.commandId, correlationId, now: commit.events[0]!.occurredAt };
    const previous = inFlight.get(key) ?? Promise.resolve();
    inFlight.set(key, previous.then(() => store.append(commit.aggregateType, commit.aggregateId, events, commit.version - commit.events.length, meta)));
    if (inFlight.size >= 256) {
      await Promise.all(inFlight.values());
      inFlight.clear();
    }
  }
  await Promise.all(inFlight.values());
}
