import type { AggregateType, EventsByAggregate } from '@happyride/domain';
import type { AppendMetadata, Commit, EventEnvelope } from './envelope.ts';

/** The aggregate's log as a command handler needs it. */
export interface AggregateHistory<A extends AggregateType> {
  events: EventEnvelope<A>[];
  /** Number of events so far: the `expectedVersion` of the next append. */
  version: number;
  /** The commits by command id, to answer a retried command with what it did the first time. */
  commits: ReadonlyMap<string, Commit<A>>;
}

export interface AppendResult {
  /** The aggregate's version after the append. */
  version: number;
  /** True when this command had been appended already (a retry): nothing new was written. */
  duplicate: boolean;
}

/**
 * The port every write path uses. Appends are atomic per call, checked against the
 * aggregate's version (optimistic concurrency) and deduplicated by command id.
 */
export interface EventStore {
  append<A extends AggregateType>(
    aggregateType: A,
    aggregateId: string,
    events: readonly EventsByAggregate[A][],
    expectedVersion: number,
    meta: AppendMetadata,
  ): Promise<AppendResult>;
  read<A extends AggregateType>(aggregateType: A, aggregateId: string): Promise<AggregateHistory<A>>;
}

/** The aggregate moved on since it was read: reload, decide again, retry. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  constructor(
    readonly aggregateType: AggregateType,
    readonly aggregateId: string,
    readonly expectedVersion: number,
    readonly actualVersion?: number,
  ) {
    super(
      `${aggregateType} ${aggregateId} is no longer at version ${expectedVersion}` +
        (actualVersion === undefined ? '' : ` (now ${actualVersion})`) +
        '.',
    );
  }
}

export function historyFromCommits<A extends AggregateType>(commits: readonly Commit<A>[]): AggregateHistory<A> {
  const byCommand = new Map<string, Commit<A>>();
  const events: EventEnvelope<A>[] = [];
  for (const commit of commits) {
    byCommand.set(commit.commandId, commit);
    events.push(...commit.events);
  }
  return { events, version: events.length, commits: byCommand };
}
