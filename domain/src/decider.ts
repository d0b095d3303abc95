/**
 * A decider is the whole write-side behaviour of one aggregate, as three pure parts
 * (after Emmett's `Decider`): `decide(command, state) → events`, `evolve(state, event) → state`
 * and the state before any event. No clock, no ids, no I/O: those arrive in the command.
 */
export interface Decider<Command, Event, State> {
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

/** The roles a token can carry (JWT `role`). */
export type Role = 'passenger' | 'driver' | 'admin';

/**
 * Who is acting: a person, as the identity layer established it (JWT `sub` and `role`), or
 * `system` for the internal commands that sagas and dispatch send (never from a token).
 */
export interface Actor {
  readonly id: string;
  readonly role: Role | 'system';
}

/** What every command carries besides its data: identity, time and ids come from the edge. */
export interface CommandMetadata {
  /** Unique per command; retries of the same command reuse it, so appends deduplicate. */
  readonly commandId: string;
  readonly actor: Actor;
  /** ISO-8601 instant at which the command was accepted. */
  readonly now: string;
}

/** Folds events into state with the decider's `evolve`, from its initial state. */
export function fold<Event, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: readonly Event[],
  from: State = decider.initialState(),
): State {
  return events.reduce(decider.evolve, from);
}
