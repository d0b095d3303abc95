import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { bootstrapEventLog } from './bootstrap.ts';
import { IDEMPOTENCY_KEY_TTL_MS, IDEMPOTENCY_KEYS_BUCKET, KvIdempotencyKeys, type IdempotencyRecord } from './idempotency-keys.ts';
import { connectNats, type Nats } from './nats.ts';
import { KvTripSlots, TRIP_SLOTS_BUCKET } from './trip-slots.ts';

let nats: Nats;
let keys: KvIdempotencyKeys;
let slots: KvTripSlots;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'idempotency-keys-int');
  await bootstrapEventLog(nats.jsm, []);
  keys = await KvIdempotencyKeys.open(nats.js);
  slots = await KvTripSlots.open(nats.js);
});
afterAll(() => nats.close());

const record = (fingerprint: string): IdempotencyRecord => ({ fingerprint, mutation: 'requestTrip', firstSeenAt: '2026-11-25T10:00:00.000Z' });

describe('the idempotency-keys bucket (JetStream KV)', () => {
  it('given the bootstrap ran, then the bucket keeps one value per key and expires keys after at least 24 hours', async () => {
    const info = await nats.jsm.streams.info(`KV_${IDEMPOTENCY_KEYS_BUCKET}`);
    expect(info.config.max_msgs_per_subject).toBe(1);
    expect(info.config.max_age).toBe(IDEMPOTENCY_KEY_TTL_MS * 1_000_000);
    expect(IDEMPOTENCY_KEY_TTL_MS).toBeGreaterThanOrEqual(24 * 60 * 60_000);
  });

  it('given a new key, when two attempts claim it at once, then both get the fingerprint that was written first', async () => {
    const scope = randomUUID().replaceAll('-', '');
    const [a, b] = await Promise.all([keys.claim(scope, record('first'), 'caller'), keys.claim(scope, record('second'), 'caller')]);
    expect(a.record.fingerprint).toBe(b.record.fingerprint);
  });

  it('given a claimed key, when it is settled, then the next claim reads the outcome; a settle at an old revision changes nothing', async () => {
    const scope = randomUUID().replaceAll('-', '');
    const claimed = await keys.claim(scope, record('f'), 'caller');
    await keys.settle(scope, claimed.revision, { ...claimed.record, outcome: { status: 'done', payload: { id: 't1' } } });
    await keys.settle(scope, claimed.revision, { ...claimed.record, outcome: { status: 'done', payload: { id: 'other' } } });
    expect((await keys.claim(scope, record('f'), 'caller')).record).toMatchObject({ fingerprint: 'f', outcome: { status: 'done', payload: { id: 't1' } } });
    expect((await keys.claim(scope, record('g'), 'caller')).record).toEqual(record('f'));
  });
});

describe('the trip-slots bucket (JetStream KV)', () => {
  it('given a free slot, when two requests swap it at once from the same revision, then exactly one wins', async () => {
    const passengerId = `p-${randomUUID()}`;
    const wins = await Promise.all(['t1', 't2', 't3'].map((tripId) => slots.swap(passengerId, { tripId, since: '2026-11-25T10:00:00.000Z' }, 0)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const stored = await slots.get(passengerId);
    expect(stored?.slot.tripId).toBe(['t1', 't2', 't3'][wins.indexOf(true)]);
    expect(await slots.swap(passengerId, { tripId: 't9', since: '2026-11-25T10:01:00.000Z' }, stored?.revision ?? -1)).toBe(true);
    expect(await slots.swap(passengerId, { tripId: 't8', since: '2026-11-25T10:01:00.000Z' }, stored?.revision ?? -1)).toBe(false);
  });

  it('given the bootstrap ran, then the slots bucket keeps one value per passenger and never expires', async () => {
    const info = await nats.jsm.streams.info(`KV_${TRIP_SLOTS_BUCKET}`);
    expect(info.config.max_msgs_per_subject).toBe(1);
    expect(info.config.max_age).toBe(0);
  });
});
