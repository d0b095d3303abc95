/**
 * Catch-up batches on a real nats-server: a reader far behind the head takes large batches,
 * each commit once and in stream order, then small ones again at the head.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootstrapEventLog, ensureConsumer } from './bootstrap.ts';
import { consumeCommits, type Delivery } from './durable-consumer.ts';
import { JetStreamEventStore } from './jetstream-event-store.ts';
import { connectNats, type Nats } from './nats.ts';

let nats: Nats;
let store: JetStreamEventStore;
const stops: AbortController[] = [];
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'catch-up-batches-test');
  await bootstrapEventLog(nats.jsm, []);
  store = new JetStreamEventStore(nats.js, nats.jsm);
});
afterAll(async () => {
  for (const stop of stops) stop.abort();
  await nats.close();
});

const meta = () => ({ commandId: randomUUID(), correlationId: 'catch-up', now: new Date().toISOString() });

/** Polls until `ok`; fails with `what` when it never holds. */
async function eventually(ok: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a durable consumer far behind the head', () => {
  it('given 3,000 commits waiting, when read with head batches of 100 and catch-up batches of 2,000, then it takes a few large batches, each commit once and in order, and a commit at the head comes alone', { timeout: 120_000 }, async () => {
    const prefix = `cu-${randomUUID().slice(0, 8)}`;
    const consumer = `test-catch-up-${randomUUID().slice(0, 8)}`;
    await ensureConsumer(nats.jsm, { name: consumer, description: 'test', aggregateTypes: ['passenger'], startAt: 'new' });
    const ids = Array.from({ length: 300 }, (_, i) => `${prefix}-${i}`);
    // 300 passengers renamed 10 times: 3,000 commits, appended 300 at a time.
    for (let version = 0; version < 10; version++) {
      await Promise.all(
        ids.map((id) =>
          store.append(
            'passenger',
            id,
            [version === 0 ? { type: 'PassengerRegistered', data: { passengerId: id, name: 'v1' } } : { type: 'PassengerDetailsUpdated', data: { passengerId: id, name: `v${version + 1}` } }],
            version,
            meta(),
          ),
        ),
      );
    }

    const ours: Delivery[] = [];
    const sizes: number[] = [];
    const stop = new AbortController();
    stops.push(stop);
    const done = consumeCommits(
      nats.js,
      consumer,
      async (batch) => {
        sizes.push(batch.length);
        ours.push(...batch.filter((d) => d.commit.aggregateId.startsWith(prefix)));
      },
      { maxBatch: 100, catchUpBatch: 2_000, inOrder: true, signal: stop.signal },
    );
    await eventually(() => ours.length >= 3_000, 'every waiting commit handled');

    expect(ours).toHaveLength(3_000);
    const sequences = ours.map((d) => d.streamSequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(Math.max(...sizes)).toBeGreaterThan(100);
    expect(sizes.length).toBeLessThan(30); // 3,000 in head batches of 100 would be 30 or more

    const before = sizes.length;
    await store.append('passenger', ids[0]!, [{ type: 'PassengerDetailsUpdated', data: { passengerId: ids[0]!, name: 'at the head' } }], 10, meta());
    await eventually(() => ours.length === 3_001, 'the commit at the head handled');
    expect(sizes.slice(before).every((size) => size <= 100)).toBe(true);
    stop.abort();
    await done;
  });
});
