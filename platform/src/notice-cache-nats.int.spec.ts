import { connectNats, publishTripUpdated, tripUpdatedSubject, type Nats } from '@happyride/eventstore';
import { localNatsServiceUrl } from '@happyride/local-servers';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createLogger } from './logger.ts';
import { followNoticesWithCache } from './notice-cache-nats.ts';

/** A connection with a service's own NATS user, as the launcher gives it. */
async function connectAs(service: string, core = true): Promise<Nats> {
  const url = localNatsServiceUrl(inject('natsUrl'), service);
  if (url === undefined) throw new Error(`no NATS user for ${service}`);
  return connectNats(url, `notice-cache-int-${service}`, { coreOnly: core });
}

let reader: Nats;
let projector: Nats;
beforeAll(async () => {
  reader = await connectAs('trip-queries');
  projector = await connectAs('projector', false);
});
afterAll(async () => {
  await reader?.close();
  await projector?.close();
});

describe('a page cache following the trip notices on a real nats-server', () => {
  it("given a page held by trip-queries, when the projector publishes a notice and a read comes after it, then that read loads the page again, every time, with trip-queries' own NATS user", async () => {
    const { cache, stop } = await followNoticesWithCache(reader, tripUpdatedSubject('*'), { logger: createLogger('notice-cache-int') });
    const store = { version: 1 };
    const load = async () => store.version;
    try {
      await cache.read('page', load);
      for (let version = 2; version <= 50; version++) {
        store.version = version; // the projector's write, then its notice
        publishTripUpdated(projector, { tripId: `t-${randomUUID().slice(0, 8)}`, version });
        await projector.connection.flush(); // the notice is with nats-server: any read from now on must see the write

        expect(await cache.read('page', load)).toBe(version);
        expect(await cache.read('page', async () => -1)).toBe(version);
      }
    } finally {
      stop();
    }
  });

  it('given a page held, when the cache stops following the notices, then every read loads', async () => {
    const { cache, stop } = await followNoticesWithCache(reader, tripUpdatedSubject('*'), { logger: createLogger('notice-cache-int') });
    await cache.read('page', async () => 'held');

    stop();

    expect(await cache.read('page', async () => 'loaded')).toBe('loaded');
  });
});
