import type { DomainErrorKind } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';

/**
 * A saga (process manager) is a decider too: inputs (recorded events, deadlines, the answers of
 * its own commands) → outputs (commands, deadlines to schedule or cancel) and its next state.
 * `decide` is pure: no clock, no I/O, no timers. Time reaches it as a `DeadlineReached` input,
 * scheduled by the runner; every effect is an output the runner persists first and executes
 * after (see `runner.ts`).
 */
export interface Saga<State, Input extends SagaInputBase, Command extends SagaCommandBase> {
  /** Stable name: stored with every instance, so it must never change once deployed. */
  name: string;
  /** The state of an instance before its first input. */
  initialState: () => State;
  /** Whether this input starts an instance, with its id and what it is associated with. */
  startedBy: (input: Input) => { sagaId: string; associations: string[] } | null;
  /** The association keys an input concerns (e.g. `trip:t1`): it goes to every live instance associated with one. */
  associationsOf: (input: Input) => string[];
  decide: (input: Input, state: State) => SagaDecision<State, Command>;
}

export interface SagaDecision<State, Command extends SagaCommandBase> {
  /** Sent in this order, after the decision is persisted. */
  commands: Command[];
  /** Deadlines to arm; a deadline name is armed at most once per instance (re-arm under a new name). */
  schedule?: Deadline[];
  /** Names of armed deadlines that must no longer fire. */
  cancelDeadlines?: string[];
  state: State;
  /** The instance is over: it takes no more inputs and its deadlines are ignored. */
  ended?: boolean;
}

/** A deadline, relative to when the decision is taken: the runner's clock makes it absolute. */
export interface Deadline {
  name: string;
  afterMs: number;
}

/** What every command a saga sends carries: which instance and which step sent it. */
export interface SagaCommandBase {
  type: string;
  sagaId: string;
  /** `${sagaId}:${step}`: the same step always sends the same id, so receivers deduplicate a resend. */
  commandId: string;
}

/** Deterministic command id of one step of one instance. */
export const stepCommandId = (sagaId: string, step: string) => `${sagaId}:${step}`;

/**
 * Inputs that are not recorded domain events: they are addressed to one instance and carry an
 * id of their own, derived from what caused them, so a repeat is recognised.
 */
export interface DirectInput {
  type: string;
  sagaId: string;
  inputId: string;
}

/** An armed deadline was reached without being cancelled. `at` is the instant it was due. */
export interface DeadlineReached extends DirectInput {
  type: 'DeadlineReached';
  name: string;
  at: string;
}

/** A command the saga sent was refused by its aggregate (a domain error): an expected outcome, an input. */
export interface CommandRejected<Command extends SagaCommandBase = SagaCommandBase> extends DirectInput {
  type: 'CommandRejected';
  command: Command;
  kind: DomainErrorKind;
  reason: string;
}

export type SagaInputBase = EventEnvelope | DirectInput;

export const isDirectInput = (input: SagaInputBase): input is DirectInput => 'inputId' in input && 'sagaId' in input;

/** The id an input is remembered by, to ignore it when it comes again. */
export const inputIdOf = (input: SagaInputBase): string => (isDirectInput(input) ? input.inputId : `event:${input.eventId}`);

export const deadlineReached = (sagaId: string, name: string, dueAt: string): DeadlineReached => ({
  type: 'DeadlineReached',
  sagaId,
  name,
  at: dueAt,
  inputId: `${sagaId}:deadline:${name}:${dueAt}`,
});

export const commandRejected = <Command extends SagaCommandBase>(command: Command, kind: DomainErrorKind, reason: string): CommandRejected<Command> => ({
  type: 'CommandRejected',
  sagaId: command.sagaId,
  inputId: `${command.commandId}:rejected`,
  command,
  kind,
  reason,
});
