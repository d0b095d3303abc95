import type { DriverEvent } from '@happyride/domain';
import { bootstrapEventLog, connectNats, JetStreamEventStore, KvDriverLocationStore, type Nats } from '@happyride/eventstore';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../../tests/support/eventually.ts';
import { startAvailableDrivers } from './available-drivers-feed.ts';

let nats: Nats;
let events: JetStreamEventStore;
let locations: KvDriverLocationStore;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'available-drivers-feed');
  await bootstrapEventLog(nats.jsm, []);
  events = new JetStreamEventStore(nats.js, nats.jsm);
  locations = await KvDriverLocationStore.open(nats.js);
});
afterAll(() => nats.close());

const now = () => new Date().toISOString();
const append = (driverId: string, version: number, ...driverEvents: DriverEvent[]) =>
  events.append('driver', driverId, driverEvents, version, { commandId: randomUUID(), correlationId: randomUUID(), now: now() });


describe('the index of available drivers, fed from JetStream', () => {
  it('given drivers recorded before the worker starts, when it starts, then the index is rebuilt from the log and the KV, and follows what comes after', async () => {
    const here = { lng: -70 + Math.random() * 40, lat: -30 + Math.random() * 20 };
    const [online, offline, later] = ['online', 'offline', 'later'].map((name) => `${name}-${randomUUID().slice(0, 8)}`) as [string, string, string];
    const vehicle = { plate: 'AB 1', model: 'Car' };
    await append(online, 0, { type: 'DriverRegistered', data: { driverId: online, name: 'On', vehicle } }, { type: 'DriverWentOnline', data: { driverId: online } });
    await append(offline, 0, { type: 'DriverRegistered', data: { driverId: offline, name: 'Off', vehicle } });
    await locations.put({ driverId: online, position: here, at: now() });
    await locations.put({ driverId: offline, position: here, at: now() });

    const stop = new AbortController();
    const { index, done } = await startAvailableDrivers(nats, locations, { signal: stop.signal });
    try {
      const near = () => index.nearest(here, 1).map((d) => d.driverId);
      expect(near()).toEqual([online]);

      // Afterwards: a reservation takes the driver out; a newcomer online with a location comes in.
      await append(online, 2, { type: 'DriverReservedForTrip', data: { driverId: online, tripId: 't1' } });
      await append(later, 0, { type: 'DriverRegistered', data: { driverId: later, name: 'Late', vehicle } }, { type: 'DriverWentOnline', data: { driverId: later } });
      await locations.put({ driverId: later, position: here, at: now() });
      await until(() => near().join() === later);
      expect(near()).toEqual([later]);

      await append(online, 3, { type: 'DriverReleasedFromTrip', data: { driverId: online, tripId: 't1' } });
      await until(() => near().length === 2);
      expect(near().sort()).toEqual([later, online].sort());
    } finally {
      stop.abort();
      await done;
    }
  });
});

describe('the index feeds are watched: one that stops unasked is an error, not a stale index', () => {
  it('given a running feed, when its NATS connection is closed under it (nobody aborted), then done rejects', async () => {
    const own = await connectNats(inject('natsUrl'), 'available-drivers-feed-closing');
    const stop = new AbortController();
    const { done } = await startAvailableDrivers(own, await KvDriverLocationStore.open(own.js), { signal: stop.signal });

    await own.connection.close();

    await expect(done).rejects.toThrow(/ended|closed/);
  });

  it('given a running feed, when its signal aborts, then done resolves', async () => {
    const stop = new AbortController();
    const { done } = await startAvailableDrivers(nats, locations, { signal: stop.signal });
    stop.abort();
    await expect(done).resolves.toBeUndefined();
  });
});
