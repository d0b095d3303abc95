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

/**
 * The event log did not answer (a timeout, no JetStream responder, the connection closed).
 * `outcomeUnknown`: an append was sent and may have been recorded although no acknowledgement
 * came back; a read or a refused append changed nothing.
 */
export class EventLogUnavailableError extends Error {
  override readonly name = 'EventLogUnavailableError';
  constructor(
    readonly operation: 'read' | 'append',
    readonly outcomeUnknown: boolean,
    options?: ErrorOptions,
  ) {
    super(
      outcomeUnknown
        ? 'The event log did not confirm the change in time: it may or may not have been applied.'
        : `The event log is unavailable (${operation}).`,
      options,
    );
  }
}
