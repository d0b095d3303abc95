import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootstrapEventLog, ensureConsumer } from './bootstrap.ts';
import { connectNats, type Nats } from './nats.ts';
import { EVENTS_STREAM } from './streams.ts';

let nats: Nats;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'bootstrap-int');
  await bootstrapEventLog(nats.jsm, []);
});
afterAll(() => nats.close());

describe('bootstrap of durable consumers', () => {
  it('given a durable consumer reading two aggregate types, when the catalogue adds a type, then bootstrap updates its filter subjects in place', async () => {
    const name = `bootstrap-filters-${Date.now()}`;
    await ensureConsumer(nats.jsm, { name, description: 'test', aggregateTypes: ['trip', 'passenger'] });
    const before = await nats.jsm.consumers.info(EVENTS_STREAM, name);

    await ensureConsumer(nats.jsm, { name, description: 'test', aggregateTypes: ['trip', 'passenger', 'payment'] });

    const after = await nats.jsm.consumers.info(EVENTS_STREAM, name);
    expect(after.config.filter_subjects).toEqual([...(before.config.filter_subjects ?? []), expect.stringContaining('payment')]);
    expect(after.created).toEqual(before.created); // the same consumer, its position kept
    await nats.jsm.consumers.delete(EVENTS_STREAM, name);
  });
});

describe('bootstrap with EVENT_STREAM_REPLICAS', () => {
  it('given a server alone, when bootstrap asks for 3 replicas, then it fails naming EVENT_STREAM_REPLICAS and the stream keeps its one copy', async () => {
    await expect(bootstrapEventLog(nats.jsm, [], { replicas: 3 })).rejects.toThrow(
      /JetStream cannot keep 3 replica\(s\) of the stream EVENTS: the server is not part of a cluster\. EVENT_STREAM_REPLICAS \(3\) must not exceed/,
    );
    expect((await nats.jsm.streams.info(EVENTS_STREAM)).config.num_replicas).toBe(1);
  });

  it('given the default, then the stream and every KV bucket have one replica', async () => {
    await bootstrapEventLog(nats.jsm, []);
    for (const stream of [EVENTS_STREAM, 'KV_driver-locations', 'KV_idempotency-keys', 'KV_trip-slots', 'KV_worker-leases']) {
      expect((await nats.jsm.streams.info(stream)).config.num_replicas, stream).toBe(1);
    }
  });
});
