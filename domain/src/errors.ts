/**
 * Broken rules are errors; expected outcomes are events. Each error names what kind of rule
 * was broken; one mapper per subgraph turns the kind into a GraphQL `extensions.code`.
 */
export type DomainErrorKind =
  | 'INVALID_INPUT'
  | 'NOT_FOUND'
  | 'ILLEGAL_STATE'
  | 'FORBIDDEN';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalidInput = (message: string) => new DomainError('INVALID_INPUT', message);
export const notFound = (message: string) => new DomainError('NOT_FOUND', message);
export const illegalState = (message: string) => new DomainError('ILLEGAL_STATE', message);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);

/** Ends an exhaustive `switch`: adding a union member fails compilation where it is unhandled. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}
