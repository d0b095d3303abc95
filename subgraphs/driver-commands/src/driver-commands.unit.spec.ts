import { defaultMovementLimits, type Actor } from '@happyride/domain';
import { InMemoryDriverLocationStore, InMemoryEventStore, InMemoryIdempotencyKeys } from '@happyride/eventstore';
import { describe, expect, it, vi } from 'vitest';
import { RegisteredDrivers } from './registered-drivers.ts';
import { driverCommands, resolvers, type DriverCommandsContext } from './resolvers.ts';

const now = new Date('2026-11-23T10:00:00.000Z');
const minutesLater = (minutes: number) => new Date(now.getTime() + minutes * 60_000);

function context(actor: Actor | null) {
  const store = new InMemoryEventStore();
  const locations = new InMemoryDriverLocationStore();
  const clock = { now };
  const ctx: DriverCommandsContext = {
    actor,
    correlationId: 'c1',
    store,
    drivers: driverCommands(store),
    locations,
    registered: new RegisteredDrivers(store),
    movement: defaultMovementLimits,
    idempotency: new InMemoryIdempotencyKeys(),
    now: () => clock.now,
  };
  return { ctx, store, locations, clock };
}

const { registerDriver, updateDriverLocation, goOffline } = resolvers.Mutation;
const vehicle = { plate: 'ab 123', model: 'BYD Qin' };

describe('driver-commands resolvers', () => {
  it('given a registered driver, when they report locations, then the aggregate is read at most once and the latest is kept', async () => {
    const { ctx, store, locations, clock } = context({ id: 'd1', role: 'driver' });
    await registerDriver(undefined, { input: { name: 'Bo', vehicle } }, ctx);
    const read = vi.spyOn(store, 'read');

    const first = await updateDriverLocation(undefined, { input: { lng: 116.4, lat: 39.9 } }, ctx);
    clock.now = minutesLater(15); // 14 km in 15 minutes: 56 km/h
    await updateDriverLocation(undefined, { input: { lng: 116.5, lat: 39.8 } }, ctx);

    expect(first).toEqual({ id: 'd1', lng: 116.4, lat: 39.9, at: now.toISOString() });
    expect(read).not.toHaveBeenCalled(); // registering remembered the driver
    expect(await locations.get('d1')).toEqual({ driverId: 'd1', position: { lng: 116.5, lat: 39.8 }, at: minutesLater(15).toISOString() });
  });

  it('given a driver who reported a location, when they report one 14 km away a minute later (840 km/h), then BAD_USER_INPUT and the last one is kept', async () => {
    const { ctx, locations, clock } = context({ id: 'd1', role: 'driver' });
    await registerDriver(undefined, { input: { name: 'Bo', vehicle } }, ctx);
    await updateDriverLocation(undefined, { input: { lng: 116.4, lat: 39.9 } }, ctx);
    clock.now = minutesLater(1);

    await expect(updateDriverLocation(undefined, { input: { lng: 116.5, lat: 39.8 } }, ctx)).rejects.toMatchObject({ kind: 'INVALID_INPUT', message: expect.stringMatching(/^location is not plausible/) });
    expect(await locations.get('d1')).toEqual({ driverId: 'd1', position: { lng: 116.4, lat: 39.9 }, at: now.toISOString() });
  });

  it('given a driver registered by another process, when they report a location twice, then their aggregate is read once', async () => {
    const { ctx, store } = context({ id: 'd1', role: 'driver' });
    await registerDriver(undefined, { input: { name: 'Bo', vehicle } }, { ...ctx, registered: new RegisteredDrivers(store) });
    const read = vi.spyOn(store, 'read');

    await updateDriverLocation(undefined, { input: { lng: 1, lat: 1 } }, ctx);
    await updateDriverLocation(undefined, { input: { lng: 1.0005, lat: 1 } }, ctx); // 56 m: within the GPS jitter
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('given an unregistered driver, when they report a location, then NOT_FOUND and nothing is kept', async () => {
    const { ctx, locations } = context({ id: 'd1', role: 'driver' });
    await expect(updateDriverLocation(undefined, { input: { lng: 1, lat: 1 } }, ctx)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    expect(await locations.get('d1')).toBeNull();
  });

  it('given an admin, when they take a driver offline by id, then the driver goes offline', async () => {
    const { ctx, store } = context({ id: 'd1', role: 'driver' });
    await registerDriver(undefined, { input: { name: 'Bo', vehicle } }, ctx);
    await resolvers.Mutation.goOnline(undefined, {}, ctx);
    const admin = { ...ctx, actor: { id: 'ops', role: 'admin' } as const };
    expect(await goOffline(undefined, { input: { driverId: 'd1' } }, admin)).toMatchObject({ id: 'd1', version: 3, online: false });
    expect((await store.read('driver', 'd1')).version).toBe(3);
  });

  it('given a driver id that is not subject-safe, when it is used, then BAD_USER_INPUT before anything is read', async () => {
    const { ctx, store } = context({ id: 'ops', role: 'admin' });
    const read = vi.spyOn(store, 'read');
    await expect(goOffline(undefined, { input: { driverId: 'd.*' } }, ctx)).rejects.toMatchObject({ kind: 'INVALID_INPUT' });
    expect(read).not.toHaveBeenCalled();
  });
});
