import { connectMongo, type Mongo } from '@happyride/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeAll, writeFiltersFor } from './guarded-writes.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), 'test_guarded_writes', 'test');
});
afterAll(async () => {
  await mongo?.db.dropDatabase().catch(() => {});
  await mongo?.close();
});

describe('which filters the projectors send', () => {
  it.skipIf(!inject('mongoStartedLocally'))('given the embedded FerretDB (the local default), then writes go by _id only, the filter it pushes down to SQLite', async () => {
    expect(await writeFiltersFor(mongo.db)).toBe('id-only');
  });

  it('given any server, then it is asked once per database handle', async () => {
    expect(writeFiltersFor(mongo.db)).toBe(writeFiltersFor(mongo.db));
    const info = await mongo.db.admin().command({ buildInfo: 1 });
    expect(await writeFiltersFor(mongo.db)).toBe('ferretdbVersion' in info ? 'id-only' : 'guarded');
  });

  it('given 300 guarded updates of stored documents in one batch, when written, then all apply (FerretDB deadlocks on ~100 matching statements in one command: they go in smaller ones)', async () => {
    const docs = mongo.db.collection<{ _id: string; version: number; name: string }>('guarded_writes_many');
    await docs.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `d${i}`, version: 1, name: 'old' })));

    const ops = Array.from({ length: 300 }, (_, i) => ({ updateOne: { filter: { _id: `d${i}`, version: 1 }, update: { $set: { name: 'new', version: 2 } } } }));
    await writeAll(docs, ops, await writeFiltersFor(mongo.db));

    expect(await docs.countDocuments({ name: 'new', version: 2 })).toBe(300);
  });
});
