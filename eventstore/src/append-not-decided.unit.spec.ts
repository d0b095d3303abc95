import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventLogUnavailableError } from './event-store.ts';
import { appendNotDecided } from './jetstream-event-store.ts';
import { JetStreamApiError } from './nats.ts';

/** The API error nats.js throws for a publish JetStream answered with `errCode`. */
const answered = (errCode: number, description: string) => new JetStreamApiError({ code: errCode === 10158 ? 409 : 503, err_code: errCode, description });

describe('an append a clustered JetStream has not decided is an unavailable event log (retryable), never an internal error', () => {
  it('given "duplicate message id is in process" (10158: the same command retried while a leader proposes it), then the outcome is unknown', () => {
    const undecided = appendNotDecided(answered(10158, 'duplicate message id is in process'));
    expect(undecided).toBeInstanceOf(EventLogUnavailableError);
    expect(undecided).toMatchObject({ operation: 'append', outcomeUnknown: true });
  });

  it('given "wrong last sequence unknown" (10164: a new leader), then nothing was stored', () => {
    expect(appendNotDecided(answered(10164, 'wrong last sequence unknown'))).toMatchObject({ operation: 'append', outcomeUnknown: false });
  });

  it('given any other answer of JetStream or any other error, then it is left as it is (a decision stays a decision)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10000, max: 10300 }).filter((code) => code !== 10158 && code !== 10164), fc.string(), (code, description) => {
        expect(appendNotDecided(answered(code, description))).toBeUndefined();
        expect(appendNotDecided(new Error(description))).toBeUndefined();
      }),
    );
  });
});
