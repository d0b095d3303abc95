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
});
