import { expect } from 'vitest';
import type { Decider } from '../decider.ts';
import { DomainError, type DomainErrorKind } from '../errors.ts';

/**
 * Given/when/then for a decider, after Emmett's `DeciderSpecification`:
 * @example
 * spec.given([registered]).when(rename).then([renamed]);
 * spec.given([]).when(rename).thenFails('NOT_FOUND', /not registered/);
 */
export function deciderSpecification<C, E, S>(decider: Decider<C, E, S>) {
  return {
    given(events: E[]) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        when(command: C) {
          const run = () => decider.decide(command, state);
          return {
            then(expected: E[]): void {
              expect(run()).toEqual(expected);
            },
            thenNothingHappens(): void {
              expect(run()).toEqual([]);
            },
            thenFails(kind: DomainErrorKind, message?: RegExp): void {
              let caught: unknown;
              try {
                run();
              } catch (error) {
                caught = error;
              }
              expect(caught, 'the command should have been refused').toBeInstanceOf(DomainError);
              expect((caught as DomainError).kind).toBe(kind);
              if (message) expect((caught as DomainError).message).toMatch(message);
            },
          };
        },
      };
    },
  };
}
