import { CommandConflictError, ConcurrencyError, EventLogUnavailableError, isNatsUnavailable, isTransientFailure as marksItselfTransient } from '@happyride/eventstore';
import {
  MongoErrorLabel,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb';

/**
 * Why applying a commit failed, for the consumers' dead letters: `transient` says nothing about
 * the commit (a server that did not answer in time, a document or aggregate changed
 * concurrently): it is retried with backoff, never counted, never parked; `deterministic` would
 * fail the same way every time (a bug, a poison event): counted, and parked after
 * `MAX_DELIVERIES`. Decided here alone, by the error's class or server code (never by its
 * message), following `cause` a few levels down (an error wrapping a timeout is one).
 */
export type FailureKind = 'transient' | 'deterministic';

/**
 * MongoDB server codes that say "not now", not "never": a node without a primary or stepping
 * down, shutting down, a timeout, a write conflict (WriteConflict 112; on FerretDB too), a
 * write concern not reached in time.
 */
export const TRANSIENT_MONGO_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Driver errors that only mean the server could not be reached or answer in time (or the client is closing). */
const TRANSIENT_MONGO_CLASSES = [
  MongoNetworkError, // and MongoNetworkTimeoutError
  MongoServerSelectionError,
  MongoOperationTimeoutError,
  MongoTopologyClosedError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoWriteConcernError,
] as const;

/**
 * Node's own socket errors, by their system error code: a connection refused, reset or ended
 * under a write ("This socket has been ended by the other party" is EPIPE), a name or route not
 * found for now. The MongoDB driver wraps most of them, not all (a write racing the close).
 */
export const TRANSIENT_SYSTEM_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

const isSystemErrorCode = (error: unknown): boolean => {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code);
};

/** Our own: the aggregate moved on (the command is decided again), or the event log did not answer. */
const TRANSIENT_OWN_CLASSES = [ConcurrencyError, CommandConflictError, EventLogUnavailableError] as const;

function isTransientItself(error: unknown): boolean {
  if (marksItselfTransient(error)) return true; // VersionGapError, SagaConflictError, a read model changed concurrently …
  if (TRANSIENT_OWN_CLASSES.some((type) => error instanceof type)) return true;
  if (TRANSIENT_MONGO_CLASSES.some((type) => error instanceof type)) return true;
  if (isSystemErrorCode(error)) return true;
  if (error instanceof MongoServerError) {
    if (error.hasErrorLabel(MongoErrorLabel.RetryableWriteError) || error.hasErrorLabel(MongoErrorLabel.TransientTransactionError)) return true;
    if (typeof error.code === 'number' && TRANSIENT_MONGO_CODES.has(error.code)) return true;
  }
  return isNatsUnavailable(error);
}

/** See `FailureKind`. @example classifyFailure(new MongoServerSelectionError('…', description)) // → 'transient' */
export function classifyFailure(error: unknown): FailureKind {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (isTransientItself(current)) return 'transient';
    current = current instanceof Error ? current.cause : undefined;
  }
  return 'deterministic';
}

/** The consumers' `DeadLetterPolicy.isTransient`: `classifyFailure(error) === 'transient'`. */
export const isTransientError = (error: unknown): boolean => classifyFailure(error) === 'transient';
