import { describe, expect, it } from 'vitest';
import { DeadLetterGuard, decideOnFailure, routeBatch, type DeadLetterPolicy } from './dead-letters.ts';
import { InMemoryDeadLetterStore } from './dead-letters.testing.ts';
import type { Delivery } from './durable-consumer.ts';

const delivery = (aggregateId: string, version: number, streamSequence: number, deliveryCount = 1): Delivery => ({
  commit: { commandId: `${aggregateId}-${version}`, aggregateType: 'passenger', aggregateId, version, events: [] },
  streamSequence,
  deliveryCount,
});

describe('routeBatch', () => {
  it('holds the commits of parked aggregates and lets the others through, in order', () => {
    // given p1 is parked
    const batch = [delivery('p1', 3, 10), delivery('p2', 1, 11), delivery('p1', 4, 12), delivery('p3', 1, 13)];
    // when the batch is routed
    const { apply, hold } = routeBatch(batch, new Set(['passenger:p1']));
    // then p1's commits are held, the rest applied in stream order
    expect(hold.map((d) => d.streamSequence)).toEqual([10, 12]);
    expect(apply.map((d) => d.streamSequence)).toEqual([11, 13]);
  });
});

describe('decideOnFailure', () => {
  it('retries until the attempts reach the maximum, then parks', () => {
    expect(decideOnFailure({ failures: 1, deliveryCount: 1, maxDeliveries: 3 })).toBe('retry');
    expect(decideOnFailure({ failures: 2, deliveryCount: 1, maxDeliveries: 3 })).toBe('retry');
    expect(decideOnFailure({ failures: 3, deliveryCount: 1, maxDeliveries: 3 })).toBe('park');
  });

  it('counts JetStream redeliveries from before this process', () => {
    expect(decideOnFailure({ failures: 1, deliveryCount: 3, maxDeliveries: 3 })).toBe('park');
  });
});

describe('DeadLetterGuard', () => {
  const setup = (maxDeliveries = 2) => {
    const store = new InMemoryDeadLetterStore();
    const applied: string[] = [];
    let poison = new Set(['p1@2']);
    const handle = async (batch: readonly Delivery[]) => {
      for (const { commit } of batch) if (poison.has(`${commit.aggregateId}@${commit.version}`)) throw new Error(`cannot apply ${commit.aggregateId}@${commit.version}`);
      for (const { commit } of batch) applied.push(`${commit.aggregateId}@${commit.version}`);
    };
    const policy: DeadLetterPolicy = { store, maxDeliveries };
    const guard = new DeadLetterGuard('projection-test', handle, policy);
    return { store, applied, guard, fix: () => (poison = new Set()) };
  };

  it('parks a commit that fails maxDeliveries times, holds its aggregate, lets the others flow', async () => {
    // given a batch whose p1@2 always fails
    const { store, applied, guard } = setup(2);
    const batch = [delivery('p1', 1, 1), delivery('p1', 2, 2), delivery('p2', 1, 3), delivery('p1', 3, 4), delivery('p2', 2, 5)];
    // when it is delivered once (the failure is rethrown: the consumer retries) and again
    await expect(guard.handleBatch(batch)).rejects.toThrow('cannot apply p1@2');
    await guard.handleBatch(batch);
    // then p1@2 is parked with its error, p1@3 held behind it, and p2 applied
    const letters = [...store.letters.values()];
    expect(letters.map((l) => [l.streamSequence, l.reason, l.attempts])).toEqual([
      [2, 'failed', 2],
      [4, 'held', 0],
    ]);
    expect(letters[0]?.error).toBe('Error: cannot apply p1@2');
    expect(applied).toContain('p2@2');
    expect(applied).not.toContain('p1@3');
    // and a later commit of p1 is held too
    await guard.handleBatch([delivery('p1', 4, 6), delivery('p3', 1, 7)]);
    expect(store.letters.has('projection-test:6')).toBe(true);
    expect(applied).toContain('p3@1');
  });

  it('applies a key again in order on retry, after a fix, and releases it', async () => {
    // given p1@2 parked with p1@3 held behind it
    const { store, applied, guard, fix } = setup(1);
    await guard.handleBatch([delivery('p1', 1, 1), delivery('p1', 2, 2), delivery('p1', 3, 3)]);
    expect(store.letters.size).toBe(2);
    // when the handler is fixed and a retry is requested
    fix();
    store.requestRetry('projection-test');
    const released = await guard.processRetries();
    // then both are applied in order, the letters gone, and p1 flows again
    expect(released).toBe(1);
    expect(applied).toEqual(['p1@1', 'p1@2', 'p1@3']);
    expect(store.letters.size).toBe(0);
    await guard.handleBatch([delivery('p1', 4, 4)]);
    expect(applied.at(-1)).toBe('p1@4');
  });

  it('keeps a key parked when its retry fails again, with the new error', async () => {
    const { store, guard } = setup(1);
    await guard.handleBatch([delivery('p1', 2, 2)]);
    store.requestRetry('projection-test');
    expect(await guard.processRetries()).toBe(0);
    const [letter] = [...store.letters.values()];
    expect(letter?.attempts).toBe(2);
    expect(letter?.retryRequestedAt).toBeNull();
    expect(guard.parkedKeys.has('passenger:p1')).toBe(true);
  });

  it('given nothing parked, when the retries are polled again and again, then the store is read once, at the first poll', async () => {
    const { store, guard } = setup(1);
    let reads = 0;
    const parkedKeys = store.parkedKeys.bind(store);
    const keysToRetry = store.keysToRetry.bind(store);
    store.parkedKeys = (consumer) => (reads++, parkedKeys(consumer));
    store.keysToRetry = (consumer) => (reads++, keysToRetry(consumer));

    for (let poll = 0; poll < 5; poll++) expect(await guard.processRetries()).toBe(0);

    expect(reads).toBe(2);
  });

  it('never counts a transient failure (a version gap: the predecessor is on its way) toward maxDeliveries', async () => {
    // given a handler that refuses p1@3 as too early until p1@2 has been applied
    const store = new InMemoryDeadLetterStore();
    let seen = 1;
    const handle = async (batch: readonly Delivery[]) => {
      for (const { commit } of batch) {
        if (commit.version > seen + 1) throw Object.assign(new Error(`p1@${commit.version} arrived before ${seen + 1}`), { transient: true });
        seen = Math.max(seen, commit.version);
      }
    };
    const guard = new DeadLetterGuard('projection-test', handle, { store, maxDeliveries: 1 });
    // when p1@3 arrives alone, many times, even as a JetStream redelivery
    for (let attempt = 1; attempt <= 5; attempt++) await expect(guard.handleBatch([delivery('p1', 3, 3, attempt)])).rejects.toThrow(/arrived before 2/);
    // then nothing is parked, and once p1@2 is there, p1@3 applies
    expect(store.letters.size).toBe(0);
    await guard.handleBatch([delivery('p1', 2, 2), delivery('p1', 3, 3, 6)]);
    expect(seen).toBe(3);
    expect(guard.parkedKeys.size).toBe(0);
  });
});
