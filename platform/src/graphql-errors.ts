import { unwrapResolverError } from '@apollo/server/errors';
import { DomainError, type DomainErrorKind } from '@happyride/domain';
import { CommandConflictError, EventLogUnavailableError, isNatsUnavailable } from '@happyride/eventstore';
import { GraphQLError, Kind, type GraphQLFormattedError } from 'graphql';
import { MongoNetworkError, MongoOperationTimeoutError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { InvalidTokenError } from './identity.ts';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/** How long a client is told to wait before retrying after `SERVICE_UNAVAILABLE`. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * A dependency (NATS, MongoDB, a subgraph) did not answer in time: a coded, retryable error
 * with `retryAfterSeconds`, never a stack trace or an internal address.
 */
export const serviceUnavailable = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: RETRY_AFTER_SECONDS } });

const codeOfKind: Record<DomainErrorKind, ErrorCode> = {
  INVALID_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  ILLEGAL_STATE: 'CONFLICT',
  FORBIDDEN: 'FORBIDDEN',
};

export const unauthenticated = (message = 'Sign in: send `Authorization: Bearer <token>`.') =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });

export const graphQLError = (code: ErrorCode, message: string) => new GraphQLError(message, { extensions: { code } });

/**
 * The one mapper from what went wrong to what a client sees: domain errors keep their message
 * with a code; anything unexpected is logged and masked as INTERNAL_SERVER_ERROR (outside
 * development), so no stack trace or internal message reaches a client.
 */
export function formatErrorFor({ exposeInternals, onInternalError }: { exposeInternals: boolean; onInternalError: (error: unknown) => void }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const known = classify(original);
    if (known) {
      const extensions = known.code === 'SERVICE_UNAVAILABLE' ? { code: known.code, retryAfterSeconds: RETRY_AFTER_SECONDS } : { code: known.code };
      return { message: known.message, ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}), extensions };
    }
    const code = formatted.extensions?.code;
    const specific = specificValidationCode(error) ?? (isWrongLiteral(error) ? 'BAD_USER_INPUT' : undefined);
    if (code === 'GRAPHQL_VALIDATION_FAILED' && specific) {
      return withoutStacktrace({ ...formatted, extensions: { ...formatted.extensions, code: specific } });
    }
    if (code && code !== 'INTERNAL_SERVER_ERROR') return withoutStacktrace(formatted);
    onInternalError(original);
    if (exposeInternals) return formatted;
    return { message: 'Internal server error.', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/**
 * Apollo reports every validation rule's error as GRAPHQL_VALIDATION_FAILED; our own rules
 * (operation limits) carry a more useful code on the original error, which we keep.
 */
function specificValidationCode(error: unknown): string | undefined {
  const original = error instanceof GraphQLError ? error.originalError : undefined;
  const code = original instanceof GraphQLError ? original.extensions.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Kinds of the node a validation error points at when a literal does not fit its type (`ValuesOfCorrectTypeRule`). */
const LITERAL_KINDS: ReadonlySet<string> = new Set([Kind.STRING, Kind.INT, Kind.FLOAT, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT, Kind.OBJECT_FIELD]);

/**
 * A value written in the document that its argument's type does not take (an object where an ID
 * belongs, a string where an input object does): the caller's input, `BAD_USER_INPUT`, as the
 * same value sent in a variable is. Told by the node the error points at, not by its message.
 */
function isWrongLiteral(error: unknown): boolean {
  const kind = error instanceof GraphQLError ? error.nodes?.[0]?.kind : undefined;
  return kind !== undefined && LITERAL_KINDS.has(kind);
}

function classify(error: unknown): { code: ErrorCode; message: string } | undefined {
  if (error instanceof DomainError) return { code: codeOfKind[error.kind], message: error.message };
  if (error instanceof CommandConflictError) return { code: 'CONFLICT', message: error.message };
  if (error instanceof InvalidTokenError) return { code: 'UNAUTHENTICATED', message: error.message };
  if (error instanceof EventLogUnavailableError) {
    return {
      code: 'SERVICE_UNAVAILABLE',
      message: error.outcomeUnknown
        ? 'The event log did not confirm this change in time: it may or may not have been applied. Retrying with the same Idempotency-Key is safe.'
        : 'The event log is unavailable; nothing was changed. Try again shortly.',
    };
  }
  if (isNatsUnavailable(error)) return { code: 'SERVICE_UNAVAILABLE', message: 'NATS is unavailable; try again shortly.' };
  if (isDatabaseUnavailable(error)) return { code: 'SERVICE_UNAVAILABLE', message: 'The read models are unavailable; try again shortly.' };
  return undefined;
}

function withoutStacktrace(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (!formatted.extensions || !('stacktrace' in formatted.extensions)) return formatted;
  const { stacktrace: _stacktrace, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}

/**
 * MongoDB did not answer: no server to select, a network failure or socket timeout, no pooled
 * connection in time (the driver's `WaitQueueTimeoutError` is not exported: by name), `maxTimeMS`.
 */
function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof MongoServerError) return error.code === 50; // MaxTimeMSExpired
  if (error instanceof Error && error.name === 'MongoWaitQueueTimeoutError') return true;
  return error instanceof MongoServerSelectionError || error instanceof MongoNetworkError || error instanceof MongoOperationTimeoutError;
}
