import { connectMongo, type Mongo } from '@happyride/platform';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeFiltersFor } from './guarded-writes.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), 'test_guarded_writes', 'test');
});
afterAll(() => mongo?.close());

describe('which filters the projectors send', () => {
  it.skipIf(!inject('mongoStartedLocally'))('given the embedded FerretDB (the local default), then writes go by _id only, the filter it pushes down to SQLite', async () => {
    expect(await writeFiltersFor(mongo.db)).toBe('id-only');
  });

  it('given any server, then it is asked once per database handle', async () => {
    expect(writeFiltersFor(mongo.db)).toBe(writeFiltersFor(mongo.db));
    const info = await mongo.db.admin().command({ buildInfo: 1 });
    expect(await writeFiltersFor(mongo.db)).toBe('ferretdbVersion' in info ? 'id-only' : 'guarded');
  });
});
