import { describe, expect, it } from 'vitest';
import {
  generationCollection,
  generationCollections,
  generationConsumer,
  generationOf,
  isReadModelName,
  readModelNames,
  readModelOf,
  readModels,
  sharedGenerationRead,
} from './read-model-generations.ts';
import type { Db } from 'mongodb';

/** A database whose pointers collection answers `find({})` with `docs`, counting the reads. */
function pointersDb(docs: { _id: string; generation: number }[]) {
  const reads = { count: 0 };
  const db = { collection: () => ({ find: () => ({ toArray: async () => (reads.count++, docs) }) }) } as unknown as Db;
  return { db, reads };
}

describe('read-model generations: naming', () => {
  it('given generation 0, when naming, then the base names are kept (data from before generations is served as is)', () => {
    expect(generationCollection('trips', 0)).toBe('trips');
    expect(generationConsumer('projection-trip-history', 0)).toBe('projection-trip-history');
  });

  it('given a later generation, when naming, then collections get __g<n> and consumers -g<n>', () => {
    expect(generationCollection('trips', 1)).toBe('trips__g1');
    expect(generationCollection('trip_stats', 12)).toBe('trip_stats__g12');
    expect(generationConsumer('projection-passengers', 3)).toBe('projection-passengers-g3');
  });

  it('given a negative or fractional generation, when naming, then it is refused', () => {
    expect(() => generationCollection('trips', -1)).toThrow(/integer ≥ 0/);
    expect(() => generationConsumer('c', 1.5)).toThrow(/integer ≥ 0/);
  });

  it('given the trip history, when listing its collections in a generation, then all five move together', () => {
    expect(generationCollections('trip-history', 2)).toEqual({
      trips: 'trips__g2',
      trip_stats: 'trip_stats__g2',
      trip_history_passenger_names: 'trip_history_passenger_names__g2',
      trip_history_driver_names: 'trip_history_driver_names__g2',
      trip_history_payments: 'trip_history_payments__g2',
    });
  });

  it('given a base collection, when asking its projection, then each collection belongs to exactly one', () => {
    expect(readModelOf('trips')).toBe('trip-history');
    expect(readModelOf('trip_stats')).toBe('trip-history');
    expect(readModelOf('passengers')).toBe('passengers');
    expect(readModelOf('drivers')).toBe('drivers');
    const all = readModelNames.flatMap((name) => [...readModels[name]]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('given names, when checking them, then only the projections are read-model names', () => {
    expect(readModelNames).toEqual(['passengers', 'drivers', 'trip-history']);
    expect(isReadModelName('trip-history')).toBe(true);
    expect(isReadModelName('trips')).toBe(false);
    expect(isReadModelName('toString')).toBe(false);
  });
});

describe('read-model generations: the pointer document', () => {
  it('given no pointer document, when reading the generation, then it is 0', () => {
    expect(generationOf(null)).toBe(0);
  });

  it('given a pointer document, when reading the generation, then it is its number', () => {
    expect(generationOf({ generation: 4 })).toBe(4);
  });

  it('given a malformed pointer, when reading the generation, then it fails loudly rather than serving another collection', () => {
    expect(() => generationOf({ generation: '1' })).toThrow(/bad generation/);
    expect(() => generationOf({ generation: -2 })).toThrow(/bad generation/);
    expect(() => generationOf({})).toThrow(/bad generation/);
  });
});

describe('read-model generations: the pointers watched by a projector process', () => {
  it('given three projections watched within the poll, when each reads its pointer, then one read answers all three', async () => {
    const { db, reads } = pointersDb([{ _id: 'trip-history', generation: 2 }]);
    let now = 0;

    const generations: number[] = [];
    for (const [at, name] of [[0, 'trip-history'], [300, 'passengers'], [700, 'drivers']] as const) {
      now = at;
      generations.push(await sharedGenerationRead(db, name, 900, () => now));
    }

    expect(generations).toEqual([2, 0, 0]);
    expect(reads.count).toBe(1);
  });

  it('given a read older than the poll, when a pointer is read, then it is read again', async () => {
    const { db, reads } = pointersDb([]);
    let now = 0;
    await sharedGenerationRead(db, 'drivers', 900, () => now);

    now = 900;
    await sharedGenerationRead(db, 'drivers', 900, () => now);

    expect(reads.count).toBe(2);
  });
});
