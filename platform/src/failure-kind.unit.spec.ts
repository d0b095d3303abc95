import { CommandConflictError, ConcurrencyError, DeadLetterGuard, EventLogUnavailableError, type Delivery } from '@happyride/eventstore';
import { InMemoryDeadLetterStore } from '@happyride/eventstore/dead-letters.testing';
import fc from 'fast-check';
import { MongoBulkWriteError, MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError, MongoWriteConcernError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { classifyFailure, isTransientError, TRANSIENT_MONGO_CODES, TRANSIENT_SYSTEM_CODES } from './failure-kind.ts';

/** A server error as the driver builds it from a reply. */
const serverError = (code: number, message: string, labels: string[] = []) => new MongoServerError({ ok: 0, code, errmsg: message, errorLabels: labels });
/** An error the code throws that marks itself transient (VersionGapError, SagaConflictError, …). */
const marked = (message: string) => Object.assign(new Error(message), { transient: true as const });
/** nats.js's request timeout, recognised by its class name (see eventstore's `isNatsUnavailable`). */
const natsTimeout = (message: string) => Object.assign(new Error(message), { name: 'TimeoutError' });

const message = fc.oneof(fc.string(), fc.constantFrom('timed out', 'operation exceeded time limit', 'changed concurrently', 'connection refused', 'E11000 duplicate key', 'Write conflict'));
const transientError = fc.oneof(
  message.map((m) => new MongoNetworkError(m)),
  message.map((m) => new MongoNetworkTimeoutError(m)),
  message.map((m) => new MongoServerSelectionError(m, { error: null } as never)),
  message.map((m) => new MongoWriteConcernError({ writeConcernError: { code: 64, errmsg: m } } as never)),
  fc.tuple(fc.constantFrom(...TRANSIENT_MONGO_CODES), message).map(([code, m]) => serverError(code, m)),
  fc.tuple(fc.constantFrom(11000, 2, 121), message, fc.constantFrom('RetryableWriteError', 'TransientTransactionError')).map(([code, m, label]) => serverError(code, m, [label])),
  message.map(marked),
  message.map(natsTimeout),
  fc.constant(new ConcurrencyError('trip', 't1', 3, 4)),
  fc.constant(new CommandConflictError(new ConcurrencyError('trip', 't1', 3, 4), 5)),
  fc.constant(new EventLogUnavailableError('append', true)),
  // Node's socket errors the driver let through unwrapped (a write racing the close: EPIPE).
  fc.tuple(fc.constantFrom(...TRANSIENT_SYSTEM_CODES), message).map(([code, m]) => Object.assign(new Error(m), { code })),
);
const deterministicError = fc.oneof(
  message.map((m) => new Error(m)),
  message.map((m) => new TypeError(m)),
  message.map((m) => new RangeError(m)),
  // A server that answered and refused: duplicate key, bad value, document validation …
  fc.tuple(fc.constantFrom(11000, 2, 121, 14, 17), message).map(([code, m]) => serverError(code, m)),
  message.map((m) => Object.assign(new Error(m), { transient: 'yes' })),
  // Other system errors say something about the call, not the moment: a file or a right missing.
  fc.tuple(fc.constantFrom('ENOENT', 'EACCES', 'EISDIR', 'ERR_INVALID_ARG_TYPE'), message).map(([code, m]) => Object.assign(new Error(m), { code })),
);
/** Wrapped 0 to 3 times (`new Error(…, { cause })`), as code that adds context does. */
const wrapped = (error: fc.Arbitrary<Error>) =>
  fc.tuple(error, fc.array(message, { maxLength: 3 })).map(([inner, messages]) => messages.reduce<Error>((cause, m) => new Error(m, { cause }), inner));

describe('classifyFailure', () => {
  it('given generated timeouts, unreachable servers, write conflicts and concurrent changes, wrapped or not, whatever their message, then transient', () => {
    fc.assert(fc.property(wrapped(transientError), (error) => {
      expect(classifyFailure(error)).toBe('transient');
    }), { numRuns: 1_000 });
  });

  it('given generated deterministic failures, wrapped or not, whatever their message (even "timed out" or "changed concurrently"), then deterministic', () => {
    fc.assert(fc.property(wrapped(deterministicError), (error) => {
      expect(classifyFailure(error)).toBe('deterministic');
    }), { numRuns: 1_000 });
  });

  it('given a bulk write that met a write conflict, then transient; one that met a duplicate key, deterministic', () => {
    const bulk = (code: number) => new MongoBulkWriteError({ message: 'bulk', code, writeErrors: [] } as never, {} as never);
    expect(classifyFailure(bulk(112))).toBe('transient');
    expect(classifyFailure(bulk(11000))).toBe('deterministic');
  });

  it('given no error object at all (a thrown string, null), then deterministic', () => {
    expect(classifyFailure('timed out')).toBe('deterministic');
    expect(classifyFailure(null)).toBe('deterministic');
  });
});

describe('a consumer guard with the classifier (only poison is parked)', () => {
  const delivery = (aggregateId: string, version: number, streamSequence: number): Delivery => ({
    commit: { commandId: `${aggregateId}-${version}`, aggregateType: 'passenger', aggregateId, version, events: [] },
    streamSequence,
    deliveryCount: 1,
  });

  it('given generated failures before a commit applies, then it is parked iff maxDeliveries deterministic failures came first; transient ones never count', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(fc.oneof(transientError, deterministicError), { maxLength: 12 }), async (maxDeliveries, failures) => {
        const store = new InMemoryDeadLetterStore();
        let attempt = 0;
        const applied: number[] = [];
        const guard = new DeadLetterGuard('test', async (batch) => {
          const failure = failures[attempt++];
          if (failure) throw failure;
          applied.push(...batch.map((d) => d.streamSequence));
        }, { store, maxDeliveries, isTransient: isTransientError });
        const batch = [delivery('p1', 1, 1)];

        // The consumer redelivers the batch after each failure, until it is applied or parked.
        for (let round = 0; round <= failures.length && applied.length === 0 && store.letters.size === 0; round++) {
          await guard.handleBatch(batch).catch(() => {});
        }

        const deterministic = failures.map((error) => classifyFailure(error) === 'deterministic');
        // The index of the maxDeliveries-th deterministic failure, if there is one.
        let count = 0;
        const parkedAt = deterministic.findIndex((isPoison) => isPoison && ++count === maxDeliveries);
        if (parkedAt >= 0) {
          expect([...store.letters.values()].map((letter) => [letter.streamSequence, letter.reason, letter.attempts])).toEqual([[1, 'failed', maxDeliveries]]);
          expect(applied).toEqual([]);
        } else {
          expect(store.letters.size).toBe(0);
          expect(applied).toEqual([1]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('given MongoDB unreachable for twenty attempts in a row (maxDeliveries 3), then the commit is applied afterwards, never parked', async () => {
    const store = new InMemoryDeadLetterStore();
    let attempts = 0;
    const guard = new DeadLetterGuard('test', async () => {
      if (++attempts <= 20) throw new MongoServerSelectionError('Server selection timed out after 500 ms', { error: null } as never);
    }, { store, maxDeliveries: 3, isTransient: isTransientError });
    for (let round = 0; round < 20; round++) await expect(guard.handleBatch([delivery('p1', 1, 1)])).rejects.toThrow(/Server selection timed out/);
    await guard.handleBatch([delivery('p1', 1, 1)]);
    expect(store.letters.size).toBe(0);
  });
});
