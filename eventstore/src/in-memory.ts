import type { AggregateType, EventsByAggregate } from '@happyride/domain';
import { envelop, type AppendMetadata, type Commit } from './envelope.ts';
import { ConcurrencyError, historyFromCommits, type AggregateHistory, type AppendResult, type EventStore } from './event-store.ts';

/** The event store in a Map, with the JetStream adapter's contract: for pure tests. */
export class InMemoryEventStore implements EventStore {
  readonly #logs = new Map<string, Commit[]>();
  /** Every commit in append order, as a stream consumer would see them. */
  readonly all: Commit[] = [];

  async append<A extends AggregateType>(
    aggregateType: A,
    aggregateId: string,
    events: readonly EventsByAggregate[A][],
    expectedVersion: number,
    meta: AppendMetadata,
  ): Promise<AppendResult> {
    const key = `${aggregateType}.${aggregateId}`;
    const log = this.#logs.get(key) ?? [];
    const version = log.at(-1)?.version ?? 0;
    // Like JetStream's head check: a retry of the aggregate's last command is a duplicate.
    if (log.at(-1)?.commandId === meta.commandId) return { version, duplicate: true };
    if (version !== expectedVersion) throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion, version);
    if (events.length === 0) return { version, duplicate: false };
    const commit = envelop(aggregateType, aggregateId, events, expectedVersion, meta);
    log.push(commit as Commit);
    this.#logs.set(key, log);
    this.all.push(commit as Commit);
    return { version: commit.version, duplicate: false };
  }

  async read<A extends AggregateType>(aggregateType: A, aggregateId: string): Promise<AggregateHistory<A>> {
    const log = (this.#logs.get(`${aggregateType}.${aggregateId}`) ?? []) as Commit<A>[];
    return historyFromCommits(structuredClone(log));
  }
}
