import type { Collection, Document, Filter, FindOptions } from 'mongodb';

/**
 * At most this many values in one `$in`: what the embedded FerretDB pushes down whole (as
 * local-servers builds it); with more it reads and decodes the whole collection. A projector
 * far behind the head reads the documents of batches of thousands of commits.
 */
export const IN_CHUNK = 1_000;

/** `values` in slices of at most `IN_CHUNK`. */
export const inChunks = <T>(values: readonly T[]): T[][] =>
  Array.from({ length: Math.ceil(values.length / IN_CHUNK) }, (_, i) => values.slice(i * IN_CHUNK, (i + 1) * IN_CHUNK));

/**
 * `find(filter)`, where a filter of one field with a long `$in` (`{ _id: { $in: [...] } }`) is
 * sent as one find per `IN_CHUNK` values, in parallel; any other filter as it is.
 */
export async function findInChunks<T extends Document>(collection: Collection<T>, filter: Filter<T>, options?: FindOptions): Promise<T[]> {
  const fields = Object.keys(filter);
  const field = fields.length === 1 ? fields[0]! : undefined;
  const condition: unknown = field === undefined ? undefined : (filter as Document)[field];
  const values: unknown = typeof condition === 'object' && condition !== null && Object.keys(condition).length === 1 ? (condition as Document)['$in'] : undefined;
  if (field === undefined || !Array.isArray(values) || values.length <= IN_CHUNK) return (await collection.find(filter, options).toArray()) as T[];
  const found = await Promise.all(inChunks(values).map((chunk) => collection.find({ [field]: { $in: chunk } } as Filter<T>, options).toArray()));
  return found.flat() as T[];
}
