import type { DriverLocation } from '@happyride/domain';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DriverLocationStore } from './driver-locations.ts';

/**
 * The behaviour every `DriverLocationStore` adapter promises, run against each of them
 * (in memory in the unit tier, JetStream KV on a real nats-server in the integration tier).
 * Stores may be shared between cases, so each case uses drivers of its own.
 */
export function driverLocationStoreContract(name: string, makeStore: () => DriverLocationStore) {
  const id = () => `d-${randomUUID().slice(0, 8)}`;
  const at = (second: number) => `2026-11-23T10:00:${String(second).padStart(2, '0')}.000Z`;
  const location = (driverId: string, lng: number, lat: number, second = 0): DriverLocation => ({
    driverId,
    position: { lng, lat },
    at: at(second),
  });

  /** The next value of an iterator, or a failure after `ms`. */
  async function next<T>(iterator: AsyncIterator<T>, ms = 5_000): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms)));
    try {
      const result = await Promise.race([iterator.next(), timeout]);
      if (result.done) throw new Error('the iterator ended');
      return result.value;
    } finally {
      clearTimeout(timer);
    }
  }

  describe(`DriverLocationStore contract: ${name}`, () => {
    it('given two locations of one driver, when read, then the latest wins', async () => {
      const store = makeStore();
      const d = id();
      await store.put(location(d, 116.4, 39.9, 1));
      await store.put(location(d, 116.5, 39.8, 2));
      expect(await store.get(d)).toEqual(location(d, 116.5, 39.8, 2));
    });

    it('given a driver without a location, when read, then it is null', async () => {
      expect(await makeStore().get(id())).toBeNull();
    });

    it('given an id that cannot be a driver (a subject wildcard), when read, then it is null', async () => {
      const store = makeStore();
      await store.put(location(id(), 1, 1));
      expect(await store.get('*')).toBeNull();
      expect(await store.get('d.>')).toBeNull();
    });

    it('given a watcher, when a location is put, then the watcher sees it, and stops when aborted', async () => {
      const store = makeStore();
      const d = id();
      const controller = new AbortController();
      const updates = (await store.watch({ signal: controller.signal }))[Symbol.asyncIterator]();
      await store.put(location(d, 2, 3, 4));
      // Other cases may share the store: skip their drivers.
      let seen = await next(updates);
      while (seen.driverId !== d) seen = await next(updates);
      expect(seen).toEqual(location(d, 2, 3, 4));

      controller.abort();
      await expect(updates.next()).resolves.toMatchObject({ done: true });
    });

    it('given a watcher started after a put, when nothing else is put, then it sees nothing from before', async () => {
      const store = makeStore();
      const [before, after] = [id(), id()];
      await store.put(location(before, 1, 1));
      const controller = new AbortController();
      const updates = (await store.watch({ signal: controller.signal }))[Symbol.asyncIterator]();
      await store.put(location(after, 2, 2));
      const drivers: string[] = [];
      for (let seen = await next(updates); ; seen = await next(updates)) {
        drivers.push(seen.driverId);
        if (seen.driverId === after) break;
      }
      expect(drivers).not.toContain(before);
      controller.abort();
    });

    it('given several drivers with several locations each, when all() is read, then it lists the latest per driver', async () => {
      const store = makeStore();
      const [a, b] = [id(), id()];
      await store.put(location(a, 1, 1, 1));
      await store.put(location(b, 2, 2, 1));
      await store.put(location(a, 1.5, 1.5, 2));

      const mine = (await store.all()).filter((l) => l.driverId === a || l.driverId === b);
      expect(mine.sort((x, y) => x.driverId.localeCompare(y.driverId))).toEqual(
        [location(a, 1.5, 1.5, 2), location(b, 2, 2, 1)].sort((x, y) => x.driverId.localeCompare(y.driverId)),
      );
    });
  });
}
