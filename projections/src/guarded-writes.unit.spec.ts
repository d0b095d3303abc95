import { describe, expect, it } from 'vitest';
import { forServer } from './guarded-writes.ts';

type Doc = { _id: string; version: number; name?: string };

const guarded = [
  { replaceOne: { filter: { _id: 't1', version: 3 }, replacement: { version: 4 } } },
  { updateOne: { filter: { _id: 't2', passengerNameVersion: { $lt: 7 } }, update: { $set: { passengerName: 'Ada', passengerNameVersion: 7 } } } },
  { deleteOne: { filter: { _id: 't3', version: 2 } } },
  { insertOne: { document: { _id: 't4', version: 1 } } },
];

describe('projector writes as the server gets them', () => {
  it('given MongoDB (guarded), then every guard stays in its filter', () => {
    expect(forServer<Doc>(guarded, 'guarded')).toEqual(guarded);
  });

  it('given FerretDB (id-only), then each filter is cut to its _id and the rest of the write is kept', () => {
    expect(forServer<Doc>(guarded, 'id-only')).toEqual([
      { replaceOne: { filter: { _id: 't1' }, replacement: { version: 4 } } },
      { updateOne: { filter: { _id: 't2' }, update: { $set: { passengerName: 'Ada', passengerNameVersion: 7 } } } },
      { deleteOne: { filter: { _id: 't3' } } },
      { insertOne: { document: { _id: 't4', version: 1 } } },
    ]);
  });

  it('given a write that is not aimed at one document by id, then it is refused rather than widened', () => {
    expect(() => forServer<Doc>([{ updateOne: { filter: { version: 3 }, update: { $set: { name: 'x' } } } }], 'id-only')).toThrow(/by a string _id/);
    expect(() => forServer<Doc>([{ updateMany: { filter: { _id: 't1' }, update: { $set: { name: 'x' } } } }], 'id-only')).toThrow(/updateMany is not allowed/);
  });
});
