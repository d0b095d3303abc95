import { connectMongo, type Mongo } from '@happyride/platform';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoSagaStore, type SagaInstanceDocument } from './mongo-saga-store.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), `test_saga_history_${randomUUID().slice(0, 8)}`, 'test');
});
afterAll(async () => {
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
});

const DAY = 24 * 60 * 60_000;
const RETENTION = 7 * DAY;
const NOW = Date.parse('2026-11-25T10:00:00.000Z');

interface SagaCase {
  ended: boolean;
  /** How long before NOW its last step was written (its end, when it ended). */
  agoMs: number;
  hasPending: boolean;
  deadlines: number;
}

const sagaCase: fc.Arbitrary<SagaCase> = fc.record({
  ended: fc.boolean(),
  agoMs: fc.oneof(fc.integer({ min: 0, max: 2 * RETENTION }), fc.constantFrom(RETENTION - 1, RETENTION + 1)),
  hasPending: fc.boolean(),
  deadlines: fc.integer({ min: 0, max: 2 }),
});

/** Two steps (two transitions), then its deadlines and a claim of each, as a worker writes them. */
async function writeSaga(store: MongoSagaStore, id: string, c: SagaCase): Promise<void> {
  const at = new Date(NOW - c.agoMs);
  const base: SagaInstanceDocument = {
    _id: id, saga: 'dispatch', state: { step: 1 }, associations: [`trip:${id}`], handledInputs: ['i1'], ended: false, version: 0,
    pending: [], pendingDeadlines: [], hasPending: false, correlationId: 'c', startedAt: new Date(at.getTime() - 60_000), updatedAt: new Date(at.getTime() - 60_000),
  };
  expect(await store.save(base, 0)).toBe(true);
  const pending = c.hasPending ? [{ type: 'NotifyDriver', sagaId: id, commandId: `${id}-cmd`, causationId: 'i2' }] : [];
  expect(await store.save({ ...base, state: { step: 2 }, handledInputs: ['i1', 'i2'], ended: c.ended, pending, hasPending: c.hasPending, updatedAt: at }, 1)).toBe(true);
  for (let n = 0; n < c.deadlines; n++) {
    await store.scheduleDeadline('dispatch', id, `check-${n}`, at);
    const [deadline] = (await store.deadlines.find({ _id: `${id}:check-${n}` }).toArray()) as [never];
    await store.claimDeadline(deadline, 'w1', at, 30_000);
  }
}

describe('saga history retention', () => {
  it('given generated sagas (running, ended before or within the retention, with or without an outbox left), when two workers prune at once, then exactly the ended ones past the retention with no outbox are gone, whole, and nothing else changed', async () => {
    const cases = fc.sample(fc.array(sagaCase, { minLength: 20, maxLength: 30 }), { numRuns: 1, seed: Date.now() % 2 ** 31 })[0] ?? [];
    // the named case among them: a trip's saga ended 8 days ago
    cases.push({ ended: true, agoMs: 8 * DAY, hasPending: false, deadlines: 1 });
    const store = new MongoSagaStore(mongo.db);
    await store.ensureIndexes();
    const ids = cases.map(() => `dispatch-${randomUUID()}`);
    for (const [index, c] of cases.entries()) await writeSaga(store, ids[index] as string, c);

    const before = new Date(NOW - RETENTION);
    const other = new MongoSagaStore(mongo.db);
    await Promise.all([store.pruneEnded(before, 7), other.pruneEnded(before, 5)]);
    while ((await store.pruneEnded(before, 7)) === 7);

    for (const [index, c] of cases.entries()) {
      const id = ids[index] as string;
      const prunable = c.ended && !c.hasPending && c.agoMs > RETENTION;
      const label = `${id} ${JSON.stringify(c)}`;
      if (prunable) {
        expect(await store.load(id), label).toBeNull(); // not rolled back up from transitions
        expect(await store.transitions.countDocuments({ sagaId: id }), label).toBe(0);
        expect(await store.deadlines.countDocuments({ sagaId: id }), label).toBe(0);
      } else {
        expect(await store.load(id), label).toMatchObject({ version: 2, ended: c.ended, hasPending: c.hasPending });
        expect(await store.transitions.countDocuments({ sagaId: id }), label).toBe(2);
        expect(await store.deadlines.countDocuments({ sagaId: id }), label).toBe(c.deadlines);
      }
    }
    expect(await mongo.db.collection('saga_deadline_claims').countDocuments({ claimedAt: { $lt: before } })).toBe(0);
  }, 120_000);

  it('given an ended instance written before endedAt existed, when a worker starts, then it is marked from updatedAt and pruned past the retention', async () => {
    const store = new MongoSagaStore(mongo.db, { instances: 'legacy_i', deadlines: 'legacy_d', transitions: 'legacy_t', claims: 'legacy_c' });
    const at = new Date(NOW - 10 * DAY);
    await store.instances.insertOne({
      _id: 'dispatch-old', saga: 'dispatch', state: {}, associations: [], handledInputs: [], ended: true, version: 1,
      pending: [], pendingDeadlines: [], hasPending: false, correlationId: 'c', startedAt: at, updatedAt: at,
    });
    await store.ensureIndexes();
    expect(await store.pruneEnded(new Date(NOW - RETENTION))).toBe(1);
    expect(await store.load('dispatch-old')).toBeNull();
  });
});
