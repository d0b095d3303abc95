import { EventLogUnavailableError } from '@happyride/eventstore';
import { MongoNetworkError, MongoNetworkTimeoutError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { formatErrorFor } from './graphql-errors.ts';

/** What a client sees when a resolver throws `error`, in production (internals masked). */
function clientSees(error: Error) {
  const internal: unknown[] = [];
  const format = formatErrorFor({ exposeInternals: false, onInternalError: (e) => internal.push(e) });
  return { formatted: format({ message: error.message, path: ['updatePassengerDetails'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } }, error), internal };
}

describe('dependencies that do not answer reach the client as SERVICE_UNAVAILABLE', () => {
  it('given an append whose acknowledgement never came, then the outcome is said to be unknown and a retry with the same Idempotency-Key safe', () => {
    const { formatted, internal } = clientSees(new EventLogUnavailableError('append', true));
    expect(formatted).toEqual({
      message: 'The event log did not confirm this change in time: it may or may not have been applied. Retrying with the same Idempotency-Key is safe.',
      path: ['updatePassengerDetails'],
      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 },
    });
    expect(internal).toEqual([]);
  });

  it('given a read of the event log that failed, then nothing was changed, and the client is told so', () => {
    const { formatted } = clientSees(new EventLogUnavailableError('read', false));
    expect(formatted.message).toBe('The event log is unavailable; nothing was changed. Try again shortly.');
    expect(formatted.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 });
  });

  it('given MongoDB not answering (a socket timeout, a connection lost), then SERVICE_UNAVAILABLE without the address', () => {
    for (const error of [new MongoNetworkTimeoutError('connection 3 to 127.0.0.1:27017 timed out'), new MongoNetworkError('connection 4 to 127.0.0.1:27017 closed')]) {
      const { formatted } = clientSees(error);
      expect(formatted).toEqual({ message: 'The read models are unavailable; try again shortly.', path: ['updatePassengerDetails'], extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 } });
    }
  });
});
