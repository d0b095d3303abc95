import { fold, type AggregateType, type CommandMetadata, type Decider, type EventsByAggregate } from '@happyride/domain';
import { ConcurrencyError, type EventStore } from './event-store.ts';

export interface CommandContext {
  correlationId: string;
  causationId?: string;
  traceparent?: string;
}

export interface CommandOutcome<S> {
  /** The aggregate's state after the command (for a duplicate: right after its first handling). */
  state: S;
  version: number;
  /** The command had been handled before (same command id): nothing new was decided. */
  duplicate: boolean;
}

/** The aggregate kept moving under us for every attempt: the caller sees `CONFLICT`. */
export class CommandConflictError extends Error {
  override readonly name = 'CommandConflictError';
  constructor(
    override readonly cause: ConcurrencyError,
    readonly attempts: number,
  ) {
    super(`${cause.aggregateType} ${cause.aggregateId} was changed concurrently ${attempts} times in a row; try again.`);
  }
}

/**
 * Load → decide → append, the one write path of every subgraph and saga.
 * A command id that is already in the aggregate's log answers with the state and version
 * right after that commit, deciding nothing (retries and redelivered saga commands are idempotent). A concurrency
 * conflict reloads and decides again, `maxAttempts` times at most.
 */
export async function handleCommand<A extends AggregateType, C extends { metadata: CommandMetadata }, S>(
  store: EventStore,
  aggregateType: A,
  aggregateId: string,
  decider: Decider<C, EventsByAggregate[A], S>,
  command: C,
  context: CommandContext,
  { maxAttempts = 5 }: { maxAttempts?: number } = {},
): Promise<CommandOutcome<S>> {
  const { commandId, now } = command.metadata;
  let lastConflict: ConcurrencyError | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const history = await store.read(aggregateType, aggregateId);
    const handled = history.commits.get(commandId);
    if (handled) {
      // Answer what this command decided then, not what later commands made of it since.
      const then = fold(decider, history.events.slice(0, handled.version) as EventsByAggregate[A][]);
      return { state: then, version: handled.version, duplicate: true };
    }
    const state = fold(decider, history.events as EventsByAggregate[A][]);
    const events = decider.decide(command, state);
    try {
      const { version, duplicate } = await store.append(aggregateType, aggregateId, events, history.version, {
        commandId,
        now,
        ...context,
      });
      if (duplicate) continue; // appended by a concurrent retry of this command: reload to report it.
      return { state: events.reduce(decider.evolve, state), version, duplicate: false };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      lastConflict = error;
    }
  }
  throw new CommandConflictError(lastConflict ?? new ConcurrencyError(aggregateType, aggregateId, -1), maxAttempts);
}
