import { expect } from 'vitest';
import type { Saga, SagaCommandBase, SagaDecision, SagaInputBase } from './saga.ts';

/**
 * Given/when/then for a saga decider, as for aggregates: the given inputs are folded into the
 * state (their outputs are assumed sent), the `when` input is decided on that state.
 * @example
 * spec.given([tripCreated]).when(passengerOk).thenSends([createPayment]);
 */
export function sagaSpecification<S, I extends SagaInputBase, C extends SagaCommandBase>(saga: Saga<S, I, C>) {
  const fold = (inputs: readonly I[], from: S = saga.initialState()) => inputs.reduce((state, input) => saga.decide(input, state).state, from);
  return {
    given(inputs: readonly I[]) {
      const state = fold(inputs);
      return {
        state,
        when(input: I) {
          const decision = saga.decide(input, state);
          return {
            decision,
            thenSends(expected: C[]): SagaDecision<S, C> {
              expect(decision.commands).toEqual(expected);
              return decision;
            },
            thenSendsNothing(): SagaDecision<S, C> {
              expect(decision.commands).toEqual([]);
              return decision;
            },
          };
        },
      };
    },
  };
}
