import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { bootstrapEventLog } from './bootstrap.ts';
import { driverLocationStoreContract } from './driver-locations.contract.ts';
import { DRIVER_LOCATIONS_BUCKET, KvDriverLocationStore } from './driver-locations.ts';
import { connectNats, type Nats } from './nats.ts';

let nats: Nats;
let store: KvDriverLocationStore;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'driver-locations-contract');
  await bootstrapEventLog(nats.jsm, []);
  store = await KvDriverLocationStore.open(nats.js);
});
afterAll(() => nats.close());

// One bucket, as every process shares it.
driverLocationStoreContract('JetStream KV', () => store);

describe('the driver-locations bucket', () => {
  it('given the bootstrap ran, when it runs again, then the bucket is still there with history 1', async () => {
    await bootstrapEventLog(nats.jsm, []);
    const info = await nats.jsm.streams.info(`KV_${DRIVER_LOCATIONS_BUCKET}`);
    expect(info.config.max_msgs_per_subject).toBe(1);
  });
});
