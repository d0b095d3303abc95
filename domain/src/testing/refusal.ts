import { DomainError } from '../errors.ts';

/** Runs `run` and returns the DomainError it throws; any other outcome fails the test. */
export function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal (a DomainError)');
}
