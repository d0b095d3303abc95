import { AvailableDriversIndex, type DomainEvent } from '@happyride/domain';
import { followCommits, type DriverLocationStore, type Nats } from '@happyride/eventstore';
import type { Logger } from '@happyride/platform';

/** Applies one driver event to the index: online/offline, reserved for a trip/released. */
export function applyDriverEvent(index: AvailableDriversIndex, event: DomainEvent): void {
  switch (event.type) {
    case 'DriverWentOnline':
      index.setOnline(event.data.driverId, true);
      break;
    case 'DriverWentOffline':
      index.setOnline(event.data.driverId, false);
      break;
    case 'DriverReservedForTrip':
      index.setActiveTrip(event.data.driverId, event.data.tripId);
      break;
    case 'DriverReleasedFromTrip':
      index.setActiveTrip(event.data.driverId, undefined);
      break;
    default:
      break;
  }
}

/**
 * This worker's index of available drivers: rebuilt on start from the driver events (an
 * ordered consumer from the start of the log) and the locations KV (watched first, then read
 * whole; the index keeps the later reading of a driver seen in both), then kept live.
 * Resolves once both have caught up, so the first dispatch already sees everyone; `done`
 * resolves when `signal` aborts and rejects when either feed fails or ends before.
 */
export async function startAvailableDrivers(nats: Nats, locations: DriverLocationStore, { signal, logger }: { signal: AbortSignal; logger?: Logger }) {
  const index = new AvailableDriversIndex();
  const watched = await locations.watch({ signal });
  for (const location of await locations.all()) index.moveTo(location.driverId, location.position, location.at);
  // Both feeds live as long as the process: one that ends unasked leaves the index stale, so
  // `done` rejects then (the worker's loop supervisor makes the process unready and exit).
  const following = (async () => {
    for await (const location of watched) index.moveTo(location.driverId, location.position, location.at);
    if (!signal.aborted) throw new Error('the driver locations watch ended');
  })();
  const { caughtUp, done } = await followCommits(nats.js, ['driver'], (commit) => {
    for (const event of commit.events) applyDriverEvent(index, event);
  }, { signal });
  const events = done.then(() => {
    if (!signal.aborted) throw new Error('the driver events feed ended');
  });
  await caughtUp;
  logger?.info({ available: index.size }, 'available drivers index built');
  return { index, done: Promise.all([following, events]).then(() => {}) };
}
