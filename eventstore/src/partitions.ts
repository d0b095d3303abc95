import { EVENTS_SUBJECT_PREFIX } from './streams.ts';

/**
 * One partition of a consumer's commits: the commits whose aggregate id hashes to `index`
 * among `count`. Every commit of an aggregate lands in the same partition, so a partition
 * read in stream order sees each aggregate's commits in order.
 */
export interface Partition {
  index: number;
  count: number;
}

/** The whole log as one partition: what a single projector reads. */
export const WHOLE: Partition = { index: 0, count: 1 };

/**
 * The partition of an aggregate id: FNV-1a (32 bits) of its UTF-16 code units, modulo `count`.
 * Stable across processes and releases: changing it re-partitions every read model.
 */
export function partitionOf(aggregateId: string, count: number): number {
  if (count === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < aggregateId.length; i++) {
    hash ^= aggregateId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}

/** `events.<type>.<id>` → `{ type, id }`; null for any other subject. */
export function subjectAggregate(subject: string): { aggregateType: string; aggregateId: string } | null {
  const prefix = `${EVENTS_SUBJECT_PREFIX}.`;
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) return null;
  return { aggregateType: rest.slice(0, dot), aggregateId: rest.slice(dot + 1) };
}

/**
 * Whether a partition handles the commit stored under `subject`: its aggregate hashes to it,
 * or its aggregate type is `everywhere` (read by every partition). A subject that is not an
 * aggregate's is accepted, so the consumer parks it as malformed, as without partitions.
 */
export function acceptsSubject(partition: Partition, everywhere: readonly string[] = []): (subject: string) => boolean {
  if (partition.count === 1) return () => true;
  return (subject) => {
    const aggregate = subjectAggregate(subject);
    if (aggregate === null || everywhere.includes(aggregate.aggregateType)) return true;
    return partitionOf(aggregate.aggregateId, partition.count) === partition.index;
  };
}

/** The durable consumer of one partition: the catalogue name alone for one partition, else `<name>-p<index>of<count>`. */
export function partitionConsumer(name: string, { index, count }: Partition): string {
  return count === 1 ? name : `${name}-p${index}of${count}`;
}

/** Every partition of `count`. */
export const partitionsOf = (count: number): Partition[] => Array.from({ length: count }, (_, index) => ({ index, count }));

/** `acceptsSubject` for commits already read (a replay's batch): the same rule, by the commit's aggregate. */
export function acceptsCommit(partition: Partition, everywhere: readonly string[] = []): (commit: { aggregateType: string; aggregateId: string }) => boolean {
  if (partition.count === 1) return () => true;
  return ({ aggregateType, aggregateId }) => everywhere.includes(aggregateType) || partitionOf(aggregateId, partition.count) === partition.index;
}
