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
