import type { EventEnvelope, InMemoryEventStore } from '@happyride/eventstore';
import type { SagaCommand } from '../runtime/commands.ts';
import type { PendingCommand } from '../runtime/mongo-saga-store.ts';
import type { CommandExecutor } from '../runtime/runner.ts';
import { deadlineReached, inputIdOf, isDirectInput, type Saga, type SagaDecision, type SagaInputBase } from '../runtime/saga.ts';

/** A saga with its types erased, so sagas of different states share one world. */
interface AnySaga {
  name: string;
  initialState: () => unknown;
  startedBy: (input: SagaInputBase) => { sagaId: string; associations: string[] } | null;
  associationsOf: (input: SagaInputBase) => string[];
  decide: (input: SagaInputBase, state: unknown) => SagaDecision<unknown, SagaCommand>;
}

/** Each saga sees only the inputs its runner would route to it (events of its consumer, direct inputs addressed to it). */
export function anySaga<S, I extends SagaInputBase>(saga: Saga<S, I, SagaCommand>): AnySaga {
  return {
    name: saga.name,
    initialState: () => saga.initialState(),
    startedBy: (input) => saga.startedBy(input as I),
    associationsOf: (input) => saga.associationsOf(input as I),
    decide: (input, state) => saga.decide(input as I, state as S),
  };
}

export interface SagaInstance {
  saga: AnySaga;
  sagaId: string;
  state: unknown;
  associations: string[];
  handled: Set<string>;
  ended: boolean;
  outbox: PendingCommand<SagaCommand>[];
  /** Armed deadlines (by name) that have neither fired nor been cancelled. */
  armed: Set<string>;
  /** Every deadline name ever armed: a name is armed at most once per instance. */
  everArmed: Set<string>;
}

/**
 * The saga runtime in memory, step by step, for property tests: what `SagaRunner` and
 * `runSagas` do (start or route each recorded event to every saga, skip a handled input, persist
 * the decision with its outbox, carry the outbox out in order, feed a command's answer back,
 * arm and fire deadlines), but each step is an action a test chooses, so a test can interleave
 * them as it likes and crash between them: a command carried out without its completion being
 * persisted stays in the outbox and is carried out again, an event is redelivered.
 */
export class SagaWorld {
  readonly instances = new Map<string, SagaInstance>();
  readonly #store: InMemoryEventStore;
  readonly #sagas: AnySaga[];
  readonly #execute: CommandExecutor<SagaInputBase, SagaCommand>;
  #delivered = 0;
  #firings = 0;

  constructor(store: InMemoryEventStore, sagas: AnySaga[], execute: CommandExecutor<SagaInputBase, SagaCommand>) {
    this.#store = store;
    this.#sagas = sagas;
    this.#execute = execute;
  }

  /** The trip and payment events in stream order: what the sagas' consumer reads. */
  get stream(): EventEnvelope[] {
    return this.#store.all.flatMap((commit) => (commit.aggregateType === 'trip' || commit.aggregateType === 'payment' ? commit.events : [])) as EventEnvelope[];
  }

  get undelivered(): number {
    return this.stream.length - this.#delivered;
  }

  get delivered(): number {
    return this.#delivered;
  }

  /** Delivers the next event of the stream to every saga. */
  deliverNext(): void {
    const event = this.stream[this.#delivered];
    if (event === undefined) return;
    this.#delivered++;
    this.#handleEvent(event);
  }

  /** Delivers an event already delivered again (at-least-once delivery). */
  redeliver(index: number): void {
    if (this.#delivered === 0) return;
    const event = this.stream[index % this.#delivered];
    if (event !== undefined) this.#handleEvent(event);
  }

  /** The instances with a command in their outbox. */
  get withOutbox(): SagaInstance[] {
    return [...this.instances.values()].filter((instance) => instance.outbox.length > 0);
  }

  /** Armed deadlines of live instances, in a stable order. */
  get armedDeadlines(): { sagaId: string; name: string }[] {
    return [...this.instances.values()].filter((instance) => !instance.ended).flatMap((instance) => [...instance.armed].map((name) => ({ sagaId: instance.sagaId, name })));
  }

  /**
   * Carries out one command of the instance's outbox (any: as the runner does, a command that
   * failed is skipped for the ones after it). `crash`: the process dies after the command took
   * effect and before its completion (and answer) were persisted: it stays in the outbox. A
   * command that fails (the provider did not answer) stays too.
   */
  async execute(instance: SagaInstance, command: PendingCommand<SagaCommand>, { crash = false }: { crash?: boolean } = {}): Promise<'done' | 'failed' | 'crashed'> {
    let answer: SagaInputBase | null;
    try {
      answer = await this.#execute(command, { correlationId: instance.sagaId });
    } catch {
      return 'failed';
    }
    if (crash) return 'crashed';
    instance.outbox = instance.outbox.filter((pending) => pending.commandId !== command.commandId);
    if (answer !== null) this.#apply(instance, answer);
    return 'done';
  }

  /** Carries out the instance's outbox in order, each command once, as the runner's flush does. */
  async flush(instance: SagaInstance): Promise<'done' | 'failed'> {
    let failed = false;
    for (const command of [...instance.outbox]) {
      if (!instance.outbox.includes(command)) continue;
      if ((await this.execute(instance, command)) === 'failed') failed = true;
    }
    return failed ? 'failed' : 'done';
  }

  /** An armed deadline is reached. */
  fire({ sagaId, name }: { sagaId: string; name: string }): void {
    const instance = this.instances.get(sagaId);
    if (!instance?.armed.delete(name)) return;
    this.#apply(instance, deadlineReached(sagaId, name, `t${++this.#firings}`));
  }

  #handleEvent(event: EventEnvelope): void {
    for (const saga of this.#sagas) {
      const targets = new Set<SagaInstance>();
      const start = saga.startedBy(event);
      if (start) {
        const existing = this.instances.get(start.sagaId);
        const instance = existing ?? this.#create(saga, start.sagaId, start.associations);
        targets.add(instance);
      }
      const keys = saga.associationsOf(event);
      for (const instance of this.instances.values()) {
        if (instance.saga === saga && !instance.ended && instance.associations.some((key) => keys.includes(key))) targets.add(instance);
      }
      for (const instance of targets) this.#apply(instance, event);
    }
  }

  #create(saga: AnySaga, sagaId: string, associations: string[]): SagaInstance {
    const instance: SagaInstance = { saga, sagaId, state: saga.initialState(), associations, handled: new Set(), ended: false, outbox: [], armed: new Set(), everArmed: new Set() };
    this.instances.set(sagaId, instance);
    return instance;
  }

  #apply(instance: SagaInstance, input: SagaInputBase): void {
    if (isDirectInput(input) && input.sagaId !== instance.sagaId) return;
    const inputId = inputIdOf(input);
    if (instance.ended || instance.handled.has(inputId)) return;
    const decision = instance.saga.decide(input, instance.state);
    instance.state = decision.state;
    instance.handled.add(inputId);
    instance.ended = decision.ended === true;
    instance.outbox.push(...decision.commands.map((command) => ({ ...command, causationId: inputId })));
    for (const { name } of decision.schedule ?? []) {
      if (instance.everArmed.has(name)) continue;
      instance.everArmed.add(name);
      instance.armed.add(name);
    }
    for (const name of decision.cancelDeadlines ?? []) instance.armed.delete(name);
    if (instance.ended) instance.armed.clear();
  }
}
