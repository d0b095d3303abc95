import { connectMongo, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoSagaStore } from './mongo-saga-store.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), `test_saga_store_${randomUUID().slice(0, 8)}`, 'test');
});
afterAll(async () => {
  await mongo.db.dropDatabase().catch(() => {});
  await mongo.close();
});

describe('MongoSagaStore start-up', () => {
  it('given a store whose indexes exist (a worker restarted), when ensureIndexes runs again, then it succeeds and the store still answers', async () => {
    const store = new MongoSagaStore(mongo.db);
    await store.ensureIndexes();

    await new MongoSagaStore(mongo.db).ensureIndexes();

    expect(await store.load('nobody')).toBeNull();
  });

  it('given saga state nothing could rebuild, then every collection writes with majority write concern, which the server accepts', async () => {
    const store = new MongoSagaStore(mongo.db);
    for (const collection of [store.instances, store.deadlines, store.transitions]) expect(collection.writeConcern?.w).toBe('majority');

    const at = new Date();
    const saved = await store.save({ _id: 'majority-1', saga: 'dispatch', state: {}, associations: [], handledInputs: [], ended: false, version: 0, pending: [], pendingDeadlines: [], hasPending: false, correlationId: 'c', startedAt: at, updatedAt: at }, 0);

    expect(saved).toBe(true);
    expect(await store.load('majority-1')).toMatchObject({ version: 1 });
  });
});

describe('MongoSagaStore with documents written before pendingOf, liveKeys and armedOf', () => {
  it('given a running instance with a pending outbox and an armed deadline as the previous version wrote them, when a worker starts, then its start-up sweep, findLive and the deadline poll find them', async () => {
    const store = new MongoSagaStore(mongo.db, { instances: 'legacy_instances', deadlines: 'legacy_deadlines', transitions: 'legacy_transitions', claims: 'legacy_claims' });
    const at = new Date(1_000);
    await store.instances.insertOne({
      _id: 'dispatch-t1', saga: 'dispatch', state: {}, associations: ['trip:t1'], handledInputs: [], ended: false, version: 1,
      pending: [], pendingDeadlines: [{ op: 'cancel', name: 'x' }], hasPending: true, correlationId: 'c', startedAt: at, updatedAt: at,
    });
    await store.deadlines.insertOne({ _id: 'dispatch-t1:check-1', saga: 'dispatch', sagaId: 'dispatch-t1', name: 'check-1', dueAt: at });

    await store.ensureIndexes();

    expect(await store.withPending('dispatch', { legacy: true })).toEqual(['dispatch-t1']);
    expect(await store.findLive('dispatch', ['trip:t1'])).toEqual(['dispatch-t1']);
    expect((await store.dueDeadlines('dispatch', new Date(2_000))).map((deadline) => deadline._id)).toEqual(['dispatch-t1:check-1']);
  });
});
