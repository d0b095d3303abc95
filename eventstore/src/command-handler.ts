import { setTimeout as wait } from 'node:timers/promises';
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
 * How version conflicts are retried: at most `maxAttempts` tries in all, the n-th retry after a
 * random wait in [0, min(maxDelayMs, baseDelayMs × 2ⁿ⁻¹)) ("full jitter": racing writers spread
 * out instead of colliding again in step). The defaults wait 150 ms at most in all.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 80 };

export interface CommandHandlerOptions<A extends AggregateType, C, S> {
  store: EventStore;
  aggregateType: A;
  decider: Decider<C, EventsByAggregate[A], S>;
  retry?: Partial<RetryPolicy>;
  /** Injectable effects, for tests: the wait between attempts and the jitter's source. */
  delay?: (ms: number) => Promise<unknown>;
  random?: () => number;
}

/** Sends one command to one aggregate of the type it was made for. */
export type CommandHandler<C, S> = (aggregateId: string, command: C, context: CommandContext) => Promise<CommandOutcome<S>>;

/**
 * The one write path of every subgraph and saga, bound once to an aggregate type, its decider
 * and the event store (after Emmett's `CommandHandler`): load the aggregate by replaying its
 * stream, decide, append expecting the version it was loaded at.
 * A command id that is already in the aggregate's log answers with the state and version right
 * after that commit, deciding nothing (retries and redelivered saga commands are idempotent).
 * A version conflict reloads and decides again after a short jittered wait (`RetryPolicy`);
 * when every attempt conflicted, `CommandConflictError`. A refusal of the decider (a
 * `DomainError`) and any other error are not retried.
 * @example
 * const passengers = commandHandler({ store, aggregateType: 'passenger', decider: passengerDecider });
 * const { state, version } = await passengers('p1', registerPassenger, { correlationId });
 */
export function commandHandler<A extends AggregateType, C extends { metadata: CommandMetadata }, S>({
  store,
  aggregateType,
  decider,
  retry,
  delay = wait,
  random = Math.random,
}: CommandHandlerOptions<A, C, S>): CommandHandler<C, S> {
  const { maxAttempts, baseDelayMs, maxDelayMs } = { ...defaultRetryPolicy, ...retry };
  const backoff = (retryNumber: number) => random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (retryNumber - 1));

  return async function handle(aggregateId, command, context) {
    const { commandId, now } = command.metadata;
    let lastConflict: ConcurrencyError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (lastConflict) await delay(backoff(attempt - 1));
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
        const { version, duplicate } = await store.append(aggregateType, aggregateId, events, history.version, { commandId, now, ...context });
        if (duplicate) continue; // appended by a concurrent retry of this command: reload to report it.
        return { state: events.reduce(decider.evolve, state), version, duplicate: false };
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        lastConflict = error;
      }
    }
    throw new CommandConflictError(lastConflict ?? new ConcurrencyError(aggregateType, aggregateId, -1), maxAttempts);
  };
}
