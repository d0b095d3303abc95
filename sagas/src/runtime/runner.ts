import { randomUUID } from 'node:crypto';
import { consumeCommits, type DeadLetterPolicy, type Delivery, type EventEnvelope, type Nats } from '@happyride/eventstore';
import { logDeadLetters, recordConsumerSpans, type Logger } from '@happyride/platform';
import { systemClock, type Clock } from './clock.ts';
import { pollSagas, type PolledSaga } from './poll-loop.ts';
import type { MongoSagaStore, PendingCommand, PendingDeadline, SagaInstanceDocument } from './mongo-saga-store.ts';
import { deadlineReached, inputIdOf, isDirectInput, type Saga, type SagaCommandBase, type SagaInputBase } from './saga.ts';

/**
 * Carries out one command of a saga. Resolves with the input the outcome becomes (a refusal,
 * an answer), or null when the outcome arrives as a recorded event. Throws only for
 * infrastructure failures: the command stays in the outbox and is tried again.
 */
export type CommandExecutor<I extends SagaInputBase, C extends SagaCommandBase> = (
  command: PendingCommand<C>,
  context: { correlationId: string },
) => Promise<I | null>;

export interface SagaRunnerOptions<S, I extends SagaInputBase, C extends SagaCommandBase> {
  saga: Saga<S, I, C>;
  store: MongoSagaStore;
  execute: CommandExecutor<I, C>;
  /** Each of these may be left out or passed as undefined (a worker passes its own options on). */
  clock?: Clock | undefined;
  /** Names this worker in deadline claims. */
  workerId?: string | undefined;
  /** A claimed deadline not fired within this long (its worker died) may be claimed again. */
  deadlineLeaseMs?: number | undefined;
  /**
   * An outbox not written for this long (its worker died, or is stuck) is carried out by whichever
   * worker sweeps next; a younger one is left to the worker carrying it out. Longer than any one
   * command takes (the provider's timeout). The start-up sweep takes every outbox regardless.
   */
  outboxLeaseMs?: number | undefined;
  /** How soon `run` looks again for due deadlines and unfinished outboxes while some are left (at most this often). */
  pollIntervalMs?: number | undefined;
  /** How often `run` looks with nothing armed or failed here: how soon it takes over the work of a worker that died. */
  idlePollIntervalMs?: number | undefined;
  logger?: Logger | undefined;
}

/** The instance kept changing under us: the batch (or poll) fails and is retried (transient: never parked as a dead letter). */
export class SagaConflictError extends Error {
  override readonly name = 'SagaConflictError';
  readonly transient = true;
}

const MAX_ATTEMPTS = 10;

/** The causes whose commands a flush carries out: null until a sweep's first read of the outbox fixes them. */
interface HeldCauses {
  causes: Set<string> | null;
}

/**
 * Runs one saga durably. For every input: load the instance, skip the input if already handled,
 * `decide`, persist state + outbox with a version guard, and only then carry out the outbox
 * (deadline changes, then commands, in order). Each executed command is removed from the
 * outbox in the same guarded write that records its outcome input, so a crash at any point
 * either repeats the command (same id: the receiver deduplicates) or nothing.
 *
 * Within one process, work is serialised; several processes may run side by side: the version
 * guard and the deadline claims keep them from stepping on each other, and an outbox is
 * carried out by one worker at a time while it lives (see `#flush` and `sweep`).
 */
export class SagaRunner<S, I extends SagaInputBase, C extends SagaCommandBase> implements PolledSaga {
  readonly workerId: string;
  readonly #saga: Saga<S, I, C>;
  readonly #store: MongoSagaStore;
  readonly #execute: CommandExecutor<I, C>;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #outboxLeaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #idlePollIntervalMs: number;
  readonly #log: Logger | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** The next armed deadline's due time as last read or armed here (epoch ms). */
  #nextDueAt: number | undefined;
  /** An outbox failed here since the last sweep: sweep again soon. */
  #retrySoon = false;
  /**
   * Outboxes to look at again on the next poll, with the causes this worker carries out there:
   * a command of its own waits behind another worker's (its causes), or failed (`all`).
   */
  readonly #retry = new Map<string, ReadonlySet<string> | 'all'>();
  /** When an outbox another worker holds is next due for a takeover, as last swept (epoch ms, this runner's clock). */
  #nextTakeoverAt: number | undefined;
  readonly #wakeListeners: (() => void)[] = [];

  constructor({ saga, store, execute, clock = systemClock, workerId, deadlineLeaseMs = 30_000, outboxLeaseMs = 30_000, pollIntervalMs = 1_000, idlePollIntervalMs = 30_000, logger }: SagaRunnerOptions<S, I, C>) {
    this.#saga = saga;
    this.#store = store;
    this.#execute = execute;
    this.#clock = clock;
    this.workerId = workerId ?? `${saga.name}-${randomUUID().slice(0, 8)}`;
    this.#leaseMs = deadlineLeaseMs;
    this.#outboxLeaseMs = outboxLeaseMs;
    this.#pollIntervalMs = pollIntervalMs;
    this.#idlePollIntervalMs = idlePollIntervalMs;
    this.#log = logger?.child({ saga: saga.name, worker: this.workerId });
  }

  /** Decides one input for every instance it concerns, then carries out their outboxes. */
  handle(input: I): Promise<void> {
    return this.#exclusive(() => this.#handle(input));
  }

  /** A consumer batch, in order: the events of its commits that this saga reads. */
  handleBatch(batch: readonly Delivery[]): Promise<void> {
    return this.#exclusive(async () => {
      const startedAt = new Date();
      for (const { commit } of batch) {
        for (const event of commit.events) {
          this.#log?.debug({ correlationId: event.correlationId, eventId: event.eventId, type: event.type }, 'saga input');
          await this.#handle(event as EventEnvelope as I);
        }
      }
      recordConsumerSpans(`saga ${this.#saga.name}`, batch, startedAt);
    });
  }

  /** Fires the deadlines due by the clock that this worker manages to claim. @returns how many fired. */
  pollDeadlines(): Promise<number> {
    return this.#exclusive(async () => {
      let fired = 0;
      const armed = await this.#store.armedDeadlines(this.#saga.name);
      const now = this.#clock.now();
      const due = armed.filter((candidate) => candidate.dueAt <= now);
      this.#nextDueAt = undefined; // from here on, only what the inputs below arm
      for (const deadline of due.slice(0, 100)) {
        if (!(await this.#store.claimDeadline(deadline, this.workerId, this.#clock.now(), this.#leaseMs))) continue;
        const input = deadlineReached(deadline.sagaId, deadline.name, deadline.dueAt.toISOString()) as SagaInputBase as I;
        this.#log?.info({ sagaId: deadline.sagaId, deadline: deadline.name }, 'deadline reached');
        await this.#apply(deadline.sagaId, input); // an ended instance ignores it
        await this.#store.markFired(deadline._id, this.workerId, this.#clock.now());
        await this.#flushSafely(deadline.sagaId, new Set([inputIdOf(input)]));
        fired++;
      }
      // Next: a due one not fired here (claimed by another worker, or past the first 100) soon, else the next armed.
      const planned = due.length > fired ? now.getTime() : armed.find((deadline) => deadline.dueAt > now)?.dueAt.getTime();
      this.#nextDueAt = [planned, this.#nextDueAt].reduce<number | undefined>((a, b) => (a === undefined ? b : b === undefined ? a : Math.min(a, b)), undefined);
      return fired;
    });
  }

  /**
   * Carries out the outboxes left unfinished: those that failed here, and those no worker has
   * written for `outboxLeaseMs` (its worker died); an outbox another worker is carrying out is
   * left to it. With `legacy` (at start), every outbox, also of instances written before
   * `pendingOf` existed. @returns instances swept.
   */
  sweep({ legacy = false }: { legacy?: boolean } = {}): Promise<number> {
    return this.#exclusive(async () => {
      this.#retrySoon = false;
      this.#nextTakeoverAt = undefined;
      const retry = [...this.#retry];
      this.#retry.clear();
      for (const [sagaId, causes] of retry) await this.#flushSafely(sagaId, causes);
      const now = this.#clock.now().getTime();
      let swept = retry.length;
      for (const { _id: sagaId, updatedAt } of await this.#store.pendingOutboxes(this.#saga.name, { legacy })) {
        const takeoverAt = updatedAt.getTime() + this.#outboxLeaseMs;
        if (!legacy && takeoverAt > now) {
          this.#nextTakeoverAt = Math.min(this.#nextTakeoverAt ?? takeoverAt, takeoverAt);
          continue;
        }
        // Its worker died: of the workers sweeping it now, the one whose write of it lands takes it over.
        const taken = legacy ? 'all' : await this.#takeOver(sagaId, updatedAt);
        if (taken === null) continue;
        await this.#flushSafely(sagaId, taken);
        swept++;
      }
      return swept;
    });
  }

  /**
   * Writes the instance (its `updatedAt`) if nobody did since `seen`. @returns the causes of the
   * commands it held then, which this worker now carries out, or null when another worker wrote it.
   */
  async #takeOver(sagaId: string, seen: Date): Promise<Set<string> | null> {
    const doc = await this.#store.load<S, C>(sagaId);
    if (!doc || doc.updatedAt.getTime() !== seen.getTime()) return null;
    const next = { ...doc, version: doc.version + 1, updatedAt: this.#clock.now() };
    if (!(await this.#store.save(next, doc.version))) return null;
    this.#log?.info({ sagaId, idleSince: seen, commands: doc.pending.map((command) => command.commandId) }, 'saga outbox taken over');
    return new Set(doc.pending.map((command) => command.causationId));
  }

  /** When this runner wants its next poll (see `PolledSaga`): its next deadline, or soon after a failure. */
  nextPollAt(): number | undefined {
    if (this.#retrySoon) return 0;
    const next = [this.#nextDueAt, this.#nextTakeoverAt].filter((at): at is number => at !== undefined);
    if (next.length === 0) return undefined;
    // The deadline's (or takeover's) time by this runner's clock, on the loop's clock.
    return Date.now() + (Math.min(...next) - this.#clock.now().getTime());
  }

  onWake(listener: () => void): void {
    this.#wakeListeners.push(listener);
  }

  /**
   * The worker: sweeps once, then reads the durable consumer and, beside it, fires deadlines
   * when due and retries unfinished outboxes (see `pollSagas`), until `signal` aborts.
   */
  async run(nats: Nats, { consumerName, signal, deadLetters }: { consumerName: string; signal: AbortSignal; deadLetters?: DeadLetterPolicy }): Promise<void> {
    await this.sweep({ legacy: true });
    await this.pollDeadlines();
    const poller = pollSagas([this], { signal, pollIntervalMs: this.#pollIntervalMs, idlePollIntervalMs: this.#idlePollIntervalMs, logger: this.#log });
    await consumeCommits(nats.js, consumerName, (batch) => this.handleBatch(batch), {
      signal,
      maxBatch: 50,
      ...(deadLetters ? { deadLetters: this.#log ? logDeadLetters(deadLetters, this.#log) : deadLetters } : {}),
      onError: (error, batch) => this.#log?.warn({ err: error, commits: batch.length, firstSequence: batch[0]?.streamSequence }, 'saga batch failed; retrying'),
    });
    await poller;
  }

  // ---- internals ------------------------------------------------------------------------------

  #wake(): void {
    for (const listener of this.#wakeListeners) listener();
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(work);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #handle(input: I): Promise<void> {
    // This worker carries out what the input caused (also when it was decided before, by a worker that died).
    const causes = new Set([inputIdOf(input)]);
    if (isDirectInput(input)) {
      await this.#apply(input.sagaId, input);
      await this.#flushSafely(input.sagaId, causes);
      return;
    }
    const targets = new Set<string>();
    const start = this.#saga.startedBy(input);
    if (start) {
      await this.#apply(start.sagaId, input, { associations: start.associations, correlationId: input.correlationId });
      targets.add(start.sagaId);
    }
    for (const sagaId of await this.#store.findLive(this.#saga.name, this.#saga.associationsOf(input))) {
      if (targets.has(sagaId)) continue;
      await this.#apply(sagaId, input);
      targets.add(sagaId);
    }
    for (const sagaId of targets) await this.#flushSafely(sagaId, causes);
  }

  /**
   * Decides `input` on the instance (unless ended or already handled) and removes the command
   * `executed` from its outbox, in one write guarded by the version read. A null input only
   * removes `executed` (its outcome arrives as a recorded event).
   */
  async #apply(
    sagaId: string,
    input: I | null,
    { associations, correlationId, executed }: { associations?: string[]; correlationId?: string; executed?: string } = {},
  ): Promise<SagaInstanceDocument<S, C> | null> {
    const inputId = input === null ? null : inputIdOf(input);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const now = this.#clock.now();
      const stored = await this.#store.load<S, C>(sagaId);
      if (!stored && !associations) {
        this.#log?.debug({ sagaId, inputId }, 'input for an unknown instance ignored');
        return null;
      }
      const doc: SagaInstanceDocument<S, C> = stored ?? {
        _id: sagaId,
        saga: this.#saga.name,
        state: this.#saga.initialState(),
        associations: associations ?? [],
        handledInputs: [],
        ended: false,
        version: 0,
        pending: [],
        pendingDeadlines: [],
        hasPending: false,
        correlationId: correlationId ?? sagaId,
        startedAt: now,
        updatedAt: now,
      };
      const next = { ...doc, pending: doc.pending.filter((command) => command.commandId !== executed) };
      if (input !== null && inputId !== null && !doc.ended && !doc.handledInputs.includes(inputId)) {
        const decision = this.#saga.decide(input, doc.state);
        const deadlines: PendingDeadline[] = [
          ...(decision.schedule ?? []).map((d): PendingDeadline => ({ op: 'schedule', name: d.name, dueAt: new Date(now.getTime() + d.afterMs) })),
          ...(decision.cancelDeadlines ?? []).map((name): PendingDeadline => ({ op: 'cancel', name })),
        ];
        next.state = decision.state;
        next.ended = decision.ended === true;
        next.handledInputs = [...doc.handledInputs, inputId];
        next.pending = [...next.pending, ...decision.commands.map((command) => ({ ...command, causationId: inputId }))];
        next.pendingDeadlines = [...doc.pendingDeadlines, ...deadlines];
        if (decision.commands.length > 0 || next.ended) {
          this.#log?.debug({ sagaId, inputId, commands: decision.commands.map((c) => c.commandId), ended: next.ended }, 'saga decided');
        }
      } else if (next.pending.length === doc.pending.length && stored) {
        return doc; // nothing to decide, nothing to remove: no write
      }
      next.hasPending = next.pending.length > 0 || next.pendingDeadlines.length > 0;
      next.version = doc.version + 1;
      next.updatedAt = now;
      if (await this.#store.save(next, stored ? doc.version : 0)) return next;
    }
    throw new SagaConflictError(`${this.#saga.name} ${sagaId} kept changing concurrently; ${inputId ?? executed} will be retried.`);
  }

  #retryLater(sagaId: string, causes: ReadonlySet<string> | 'all'): void {
    const known = this.#retry.get(sagaId);
    this.#retry.set(sagaId, known === 'all' || causes === 'all' ? 'all' : new Set([...(known ?? []), ...causes]));
  }

  /** Carries out the outbox (see `#flush`); a failure leaves the rest for the next sweep, logged. */
  async #flushSafely(sagaId: string, causes: ReadonlySet<string> | 'all'): Promise<void> {
    const held: HeldCauses = { causes: causes === 'all' ? null : new Set(causes) };
    try {
      await this.#flush(sagaId, held);
    } catch (error) {
      this.#log?.warn({ err: error, sagaId }, 'saga outbox not carried out; retrying on the next sweep');
      // Retried with everything this worker held there (the answers it got included): the
      // failing command must not hold back the commands decided after it by the same causes.
      this.#retryLater(sagaId, held.causes ?? 'all');
      this.#retrySoon = true;
      this.#wake();
    }
  }

  /**
   * Carries out the outbox in order, as long as its first command was caused by `causes` (the
   * input this worker just handled, then the answers of the commands it carried out; `all` for
   * a sweep). A first command caused by another input is the business of the worker that
   * handled that input: this one stops there and looks again after `pollIntervalMs` (see
   * `#retry`). So two workers sharing an instance do not both send a command, and never out
   * of order; if the other worker died, a sweep takes the outbox over once its lease ran out.
   *
   * A sweep (`all`) takes what the outbox holds when first read, and what that causes, never
   * more: a command decided meanwhile by another worker, for an input it handled (the event a
   * command of the outbox recorded, say), is that worker's to carry out.
   */
  async #flush(sagaId: string, held: HeldCauses): Promise<void> {
    const failed = new Set<string>();
    for (let round = 0; round < 100; round++) {
      const doc = await this.#store.load<S, C>(sagaId);
      if (!doc) return;
      held.causes ??= new Set(doc.pending.map((command) => command.causationId));
      const mine = held.causes;
      if (doc.pendingDeadlines.length > 0) {
        await this.#carryOutDeadlines(doc);
        continue;
      }
      // In order; a command that failed (infrastructure) is skipped this time round, not the ones after it.
      const command = doc.pending.find((candidate) => !failed.has(candidate.commandId));
      if (command && !mine.has(command.causationId)) {
        // Another worker's command first: ours (if any) wait behind it, and are looked at again soon.
        if (doc.pending.some((candidate) => mine.has(candidate.causationId))) {
          this.#retryLater(sagaId, mine);
          this.#retrySoon = true;
          this.#wake();
        }
        return;
      }
      if (!command) {
        if (failed.size > 0) throw new Error(`${failed.size} command(s) of ${sagaId} failed; they stay in the outbox.`);
        return;
      }
      let outcome: I | null;
      try {
        outcome = await this.#execute(command, { correlationId: doc.correlationId });
      } catch (error) {
        this.#log?.warn({ err: error, sagaId, commandId: command.commandId }, 'saga command failed; it stays in the outbox');
        failed.add(command.commandId);
        continue;
      }
      this.#log?.debug({ sagaId, correlationId: doc.correlationId, commandId: command.commandId, outcome: outcome?.type ?? 'recorded' }, 'saga command carried out');
      if (outcome !== null) mine.add(inputIdOf(outcome));
      await this.#apply(sagaId, outcome, { executed: command.commandId });
    }
  }

  async #carryOutDeadlines(doc: SagaInstanceDocument<S, C>): Promise<void> {
    for (const change of doc.pendingDeadlines) {
      if (change.op === 'schedule') {
        const dueAt = new Date(change.dueAt).getTime();
        await this.#store.scheduleDeadline(this.#saga.name, doc._id, change.name, new Date(dueAt));
        if (this.#nextDueAt === undefined || dueAt < this.#nextDueAt) {
          this.#nextDueAt = dueAt;
          this.#wake();
        }
      } else await this.#store.cancelDeadline(doc._id, change.name);
    }
    const done = new Set(doc.pendingDeadlines.map((change) => `${change.op}:${change.name}`));
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.#store.load<S, C>(doc._id);
      if (!current) return;
      const pendingDeadlines = current.pendingDeadlines.filter((change) => !done.has(`${change.op}:${change.name}`));
      const next = { ...current, pendingDeadlines, version: current.version + 1, updatedAt: this.#clock.now() };
      next.hasPending = next.pending.length > 0 || pendingDeadlines.length > 0;
      if (await this.#store.save(next, current.version)) return;
    }
    throw new SagaConflictError(`${this.#saga.name} ${doc._id} kept changing concurrently while its deadlines were armed.`);
  }
}
