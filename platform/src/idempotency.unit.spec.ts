import { DomainError, invalidInput, type Actor } from '@happyride/domain';
import { InMemoryIdempotencyKeys } from '@happyride/eventstore';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { canonicalJson, derivedId, idempotent, inputFingerprint, keyScope, validIdempotencyKey, type CommandIds } from './idempotency.ts';

const ada: Actor = { id: 'p1', role: 'passenger' };
const now = () => new Date('2026-11-25T10:00:00.000Z');
const context = (key: string | undefined, actor: Actor = ada, idempotency = new InMemoryIdempotencyKeys()) => ({ actor, idempotencyKey: key, idempotency, now });

/** A mutation that records every run and answers with the ids it was given. */
function recordingMutation() {
  const runs: CommandIds[] = [];
  const run = async (ids: CommandIds) => {
    runs.push(ids);
    return { commandId: ids.commandId, tripId: ids.derive('tripId'), run: runs.length };
  };
  return { runs, run };
}

describe('Idempotency-Key', () => {
  describe('validation', () => {
    it.each([
      ['1 character', 'k'],
      ['100 characters', 'x'.repeat(100)],
      ['100 code points of 2 UTF-16 units each', '😀'.repeat(100)],
    ])('given a key of %s, when it is validated, then it is accepted as is', (_label, key) => {
      expect(validIdempotencyKey(key)).toBe(key);
    });

    it.each([
      ['empty', ''],
      ['101 characters', 'x'.repeat(101)],
    ])('given a key that is %s, when it is validated, then it is invalid input', (_label, key) => {
      expect(() => validIdempotencyKey(key)).toThrow(expect.objectContaining({ kind: 'INVALID_INPUT', message: expect.stringMatching(/1 to 100 characters/) }));
    });
  });

  describe('fingerprint', () => {
    it('given the same input with its keys in another order or an undefined member, when fingerprinted, then the fingerprints are equal', () => {
      const a = { start: { lng: 1, lat: 2 }, end: { lat: 4, lng: 3 } };
      const b = { end: { lng: 3, lat: 4 }, start: { lat: 2, lng: 1 }, note: undefined };
      expect(canonicalJson(a)).toBe(canonicalJson(b));
      expect(inputFingerprint('requestTrip', a)).toBe(inputFingerprint('requestTrip', b));
    });

    it('given another input or another mutation, when fingerprinted, then the fingerprints differ', () => {
      const input = { tripId: 't1' };
      expect(inputFingerprint('startTrip', input)).not.toBe(inputFingerprint('startTrip', { tripId: 't2' }));
      expect(inputFingerprint('startTrip', input)).not.toBe(inputFingerprint('finishTrip', input));
      expect(canonicalJson([1, null, 'a'])).toBe('[1,null,"a"]');
    });
  });

  describe('derived ids', () => {
    it('given one caller and key, when ids are derived twice, then they are the same UUID-shaped, subject-safe id', () => {
      const scope = keyScope(ada, 'key-1');
      expect(derivedId(scope, 'requestTrip')).toBe(derivedId(keyScope(ada, 'key-1'), 'requestTrip'));
      expect(derivedId(scope, 'requestTrip')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('given the same key from another caller (other id or other role), when scoped, then the scope differs', () => {
      expect(keyScope(ada, 'k')).not.toBe(keyScope({ id: 'p2', role: 'passenger' }, 'k'));
      expect(keyScope(ada, 'k')).not.toBe(keyScope({ id: 'p1', role: 'driver' }, 'k'));
    });
  });

  describe('idempotent', () => {
    it('given no key, when a mutation runs twice, then each run gets fresh ids', async () => {
      const { runs, run } = recordingMutation();
      await idempotent(context(undefined), 'requestTrip', {}, run);
      await idempotent(context(undefined), 'requestTrip', {}, run);
      expect(runs).toHaveLength(2);
      expect(runs[0]?.commandId).not.toBe(runs[1]?.commandId);
    });

    it('given a key whose first attempt finished, when it is retried with the same input, then the first payload is answered and nothing runs', async () => {
      const ctx = context('key-1');
      const { runs, run } = recordingMutation();
      const first = await idempotent(ctx, 'requestTrip', { start: 1 }, run);
      const retry = await idempotent(ctx, 'requestTrip', { start: 1 }, run);
      expect(retry).toEqual(first);
      expect(runs).toHaveLength(1);
    });

    it('given a used key, when it is sent with another input or another mutation, then CONFLICT and nothing runs', async () => {
      const ctx = context('key-1');
      const { runs, run } = recordingMutation();
      await idempotent(ctx, 'requestTrip', { start: 1 }, run);
      for (const attempt of [() => idempotent(ctx, 'requestTrip', { start: 2 }, run), () => idempotent(ctx, 'cancelTrip', { start: 1 }, run)]) {
        const error = await attempt().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(GraphQLError);
        expect(error).toMatchObject({ extensions: { code: 'CONFLICT' }, message: expect.stringMatching(/already used for requestTrip/) });
      }
      expect(runs).toHaveLength(1);
    });

    it('given a key whose first attempt was refused by a rule, when it is retried, then the same refusal is answered without deciding again', async () => {
      const ctx = context('key-1');
      let calls = 0;
      const refuse = async () => {
        calls++;
        throw invalidInput('start and end must be different positions.');
      };
      await expect(idempotent(ctx, 'requestTrip', {}, refuse)).rejects.toBeInstanceOf(DomainError);
      await expect(idempotent(ctx, 'requestTrip', {}, async () => 'would succeed now')).rejects.toMatchObject({ kind: 'INVALID_INPUT', message: 'start and end must be different positions.' });
      expect(calls).toBe(1);
    });

    it('given a key claimed by an attempt that died before it finished, when it is retried, then it runs again with the same ids', async () => {
      const idempotency = new InMemoryIdempotencyKeys();
      const ctx = context('key-1', ada, idempotency);
      const died = await idempotent(ctx, 'requestTrip', {}, async (ids) => {
        throw Object.assign(new Error('process killed'), { ids });
      }).catch((error: { ids: CommandIds }) => error.ids);
      const { runs, run } = recordingMutation();
      const retry = await idempotent(ctx, 'requestTrip', {}, run);
      expect(retry).toMatchObject({ commandId: died.commandId, tripId: died.derive('tripId') });
      expect(runs).toHaveLength(1);
    });

    it('given a key used by one caller, when another caller sends the same key, then they get a run of their own with other ids', async () => {
      const idempotency = new InMemoryIdempotencyKeys();
      const { runs, run } = recordingMutation();
      const mine = await idempotent(context('shared', ada, idempotency), 'requestTrip', { start: 1 }, run);
      const theirs = await idempotent(context('shared', { id: 'p2', role: 'passenger' }, idempotency), 'requestTrip', { start: 9 }, run);
      expect(runs).toHaveLength(2);
      expect(theirs.tripId).not.toBe(mine.tripId);
    });

    it('given no caller, when a mutation runs, then UNAUTHENTICATED before anything is claimed', async () => {
      const { runs, run } = recordingMutation();
      await expect(idempotent({ ...context('k'), actor: null }, 'requestTrip', {}, run)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
      expect(runs).toHaveLength(0);
    });
  });
});
