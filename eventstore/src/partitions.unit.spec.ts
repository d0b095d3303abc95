import { describe, expect, it } from 'vitest';
import { acceptsCommit, acceptsSubject, partitionConsumer, partitionOf, partitionsOf, subjectAggregate } from './partitions.ts';

describe('partitions of the event log by aggregate id', () => {
  it('given one partition, when any id is placed, then it is partition 0 and the consumer keeps its catalogue name', () => {
    expect(partitionOf('t-1', 1)).toBe(0);
    expect(partitionConsumer('projection-trip-history', { index: 0, count: 1 })).toBe('projection-trip-history');
    expect(acceptsSubject({ index: 0, count: 1 })('anything')).toBe(true);
  });

  it('given 4 partitions, when many ids are placed, then each id always lands in the same one and every partition gets a fair share', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `trip-${i}`);
    const counts = [0, 0, 0, 0];
    for (const id of ids) counts[partitionOf(id, 4)]!++;
    expect(ids.map((id) => partitionOf(id, 4))).toEqual(ids.map((id) => partitionOf(id, 4)));
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('given a partition, when subjects and commits are checked, then exactly one partition takes each aggregate, and every partition takes the types read everywhere', () => {
    const parts = partitionsOf(3);
    const subject = 'events.trip.t-42';
    expect(parts.filter((p) => acceptsSubject(p, ['passenger'])(subject))).toHaveLength(1);
    expect(parts.filter((p) => acceptsCommit(p, ['passenger'])({ aggregateType: 'trip', aggregateId: 't-42' }))).toEqual(parts.filter((p) => acceptsSubject(p)(subject)));
    expect(parts.every((p) => acceptsSubject(p, ['passenger'])('events.passenger.p-1'))).toBe(true);
    expect(parts.every((p) => acceptsSubject(p)('not-an-event'))).toBe(true);
    expect(partitionConsumer('projection-drivers', { index: 2, count: 3 })).toBe('projection-drivers-p2of3');
  });

  it('given subjects, when read, then the aggregate type and id come out', () => {
    expect(subjectAggregate('events.trip.t-1')).toEqual({ aggregateType: 'trip', aggregateId: 't-1' });
    expect(subjectAggregate('events.trip')).toBeNull();
    expect(subjectAggregate('other.trip.t-1')).toBeNull();
  });
});
