import fc from 'fast-check';
import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { countChanged, fence, FENCE_FIELD, targetIds, writtenAtOrBefore } from './guarded-writes.ts';

type Doc = { _id: string; version: number; name?: string };
type Keyed = Document & { _id: string };

const guarded: AnyBulkWriteOperation<Doc>[] = [
  { replaceOne: { filter: { _id: 't1', version: 3 }, replacement: { version: 4 } } },
  { updateOne: { filter: { _id: 't2', passengerNameVersion: { $lt: 7 } }, update: { $set: { passengerName: 'Ada', passengerNameVersion: 7 } } } },
  { deleteOne: { filter: { _id: 't3', version: 2 } } },
  { insertOne: { document: { _id: 't4', version: 1 } } },
];

/** Any single-document projector write aimed at `_id`, as the plans make them. */
const anyWrite: fc.Arbitrary<AnyBulkWriteOperation<Keyed>> = fc.oneof<fc.Arbitrary<AnyBulkWriteOperation<Keyed>>[]>(
  fc.record({ _id: fc.string(), version: fc.nat() }).map((document) => ({ insertOne: { document } })),
  fc.record({ _id: fc.string(), version: fc.nat(), next: fc.nat() }).map(({ _id, version, next }) => ({ replaceOne: { filter: { _id, version }, replacement: { version: next } } })),
  fc
    .record({ _id: fc.string(), below: fc.nat(), inc: fc.boolean() })
    .map(({ _id, below, inc }) => ({ updateOne: { filter: { _id, v: { $lt: below } }, update: inc ? { $inc: { n: 1 } } : { $set: { v: below } } } })),
  fc.record({ _id: fc.string(), version: fc.nat() }).map(({ _id, version }) => ({ deleteOne: { filter: { _id, version } } })),
);

describe('a projector write as the server gets it (fenced)', () => {
  it('given the named writes and token 7, then each keeps its guard, requires no newer token and stamps 7', () => {
    expect(fence<Doc>(guarded, 7)).toEqual([
      { replaceOne: { filter: { _id: 't1', version: 3, fence: { $not: { $gt: 7 } } }, replacement: { version: 4, fence: 7 } } },
      {
        updateOne: {
          filter: { _id: 't2', passengerNameVersion: { $lt: 7 }, fence: { $not: { $gt: 7 } } },
          update: { $set: { passengerName: 'Ada', passengerNameVersion: 7, fence: 7 } },
        },
      },
      { deleteOne: { filter: { _id: 't3', version: 2, fence: { $not: { $gt: 7 } } } } },
      { insertOne: { document: { _id: 't4', version: 1, fence: 7 } } },
    ]);
  });

  it('given any writes and any token, then the target, the guard and the rest of each write are kept, and every one is fenced', () => {
    fc.assert(
      fc.property(fc.array(anyWrite, { maxLength: 8 }), fc.nat({ max: 2 ** 40 }), (ops, token) => {
        const sent = fence(ops, token);
        expect(targetIds(sent)).toEqual(targetIds(ops));
        sent.forEach((op, i) => {
          const original = ops[i]!;
          if ('insertOne' in op && 'insertOne' in original) expect(op.insertOne.document).toEqual({ ...original.insertOne.document, [FENCE_FIELD]: token });
          else if ('replaceOne' in op && 'replaceOne' in original) {
            expect(op.replaceOne.filter).toEqual({ ...original.replaceOne.filter, [FENCE_FIELD]: writtenAtOrBefore(token) });
            expect(op.replaceOne.replacement).toEqual({ ...original.replaceOne.replacement, [FENCE_FIELD]: token });
          } else if ('updateOne' in op && 'updateOne' in original) {
            expect(op.updateOne.filter).toEqual({ ...original.updateOne.filter, [FENCE_FIELD]: writtenAtOrBefore(token) });
            const { $set, ...rest } = op.updateOne.update as Document;
            const { $set: set0 = {}, ...rest0 } = original.updateOne.update as Document;
            expect(rest).toEqual(rest0);
            expect($set).toEqual({ ...set0, [FENCE_FIELD]: token });
          } else if ('deleteOne' in op && 'deleteOne' in original) {
            expect(op.deleteOne.filter).toEqual({ ...original.deleteOne.filter, [FENCE_FIELD]: writtenAtOrBefore(token) });
          } else throw new Error(`the kind of write changed: ${JSON.stringify(op)}`);
        });
      }),
    );
  });

  it('given a write that is not aimed at one document by id, or that sets its own fence condition, then it is refused rather than sent', () => {
    expect(() => fence<Doc>([{ updateOne: { filter: { version: 3 }, update: { $set: { name: 'x' } } } }], 1)).toThrow(/by a string _id/);
    expect(() => fence<Doc>([{ updateMany: { filter: { _id: 't1' }, update: { $set: { name: 'x' } } } }], 1)).toThrow(/updateMany is not allowed/);
    expect(() => fence<Doc>([{ updateOne: { filter: { _id: 't1' }, update: [{ $set: { name: 'x' } }] } }], 1)).toThrow(/pipeline/);
    expect(() => fence<Keyed>([{ deleteOne: { filter: { _id: 't1', fence: 3 } } }], 1)).toThrow(/leave fence to the fencing/);
    expect(() => fence<Doc>(guarded, -1)).toThrow(/integer ≥ 0/);
  });

  it('given a bulk result, then every kind of write found counts once, and a write that matched nothing does not', () => {
    expect(countChanged({ insertedCount: 2, matchedCount: 3, upsertedCount: 1, deletedCount: 1 })).toBe(7);
    expect(countChanged({ insertedCount: 0, matchedCount: 0, upsertedCount: 0, deletedCount: 0 })).toBe(0);
  });
});
