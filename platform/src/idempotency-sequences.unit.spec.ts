import { DomainError, type Actor } from '@happyride/domain';
import { InMemoryIdempotencyKeys, liveKeys, reserveKey, type KeyQuota } from '@happyride/eventstore';
import fc from 'fast-check';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { idempotent, type CommandIds } from './idempotency.ts';

const HOUR = 60 * 60_000;
const TTL = 24 * HOUR;
const RETENTION = 7 * 24 * HOUR;
const callers: Actor[] = [
  { id: 'p1', role: 'passenger' },
  { id: 'p2', role: 'passenger' },
  { id: 'p1', role: 'driver' },
];

/**
 * The world a keyed mutation runs in: a clock, the idempotency store with its TTL and retention,
 * and an event log that answers a command id it holds from the log (as the command handler does,
 * for ever). Input 2 is refused by the decider, every time.
 */
function world(perCaller = 1_000) {
  let now = Date.parse('2026-11-25T10:00:00.000Z');
  const keys = new InMemoryIdempotencyKeys({ now: () => now, ttlMs: TTL, retentionMs: RETENTION, perCaller });
  const log = new Map<string, { input: number; caller: string; run: number }>();
  let runs = 0;
  const send = (caller: Actor, key: string, input: number) =>
    idempotent({ actor: caller, idempotencyKey: key, idempotency: keys, now: () => new Date(now) }, 'requestTrip', { input }, async (ids: CommandIds) => {
      const recorded = log.get(ids.commandId);
      if (recorded) return recorded;
      if (input === 2) throw new DomainError('ILLEGAL_STATE', 'refused by the decider');
      const result = { input, caller: `${caller.role}:${caller.id}`, run: ++runs };
      log.set(ids.commandId, result);
      return result;
    }).then(
      (payload) => ({ ok: true as const, payload }),
      (error: unknown) => {
        if (error instanceof GraphQLError) return { ok: false as const, code: String(error.extensions['code']) };
        if (error instanceof DomainError) return { ok: false as const, code: error.kind };
        throw error;
      },
    );
  return { send, advance: (ms: number) => (now += ms), now: () => now };
}

type Step = { kind: 'send'; caller: number; key: number; input: number } | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), caller: fc.integer({ min: 0, max: 2 }), key: fc.integer({ min: 0, max: 2 }), input: fc.integer({ min: 0, max: 2 }) }) },
  // within the TTL, just past it, past the retention: expiry between two sends
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(HOUR, TTL + 1, RETENTION + 1, TTL - 1) }) },
);

describe('Idempotency-Key over generated sequences (same key, same or other input, expiry between, several callers)', () => {
  it('given any sequence, then another input under a remembered key is CONFLICT, and every answer under a key and input is its first answer, never another input\'s or caller\'s', async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        cases++;
        const { send, advance, now } = world();
        // The model: per caller and key, the input it was first used with, and when (its fingerprint).
        const firstUse = new Map<string, { input: number; at: number }>();
        const firstAnswer = new Map<string, unknown>();
        for (const s of steps) {
          if (s.kind === 'wait') {
            advance(s.ms);
            continue;
          }
          const caller = callers[s.caller] as Actor;
          const scope = `${s.caller}/${s.key}`;
          const remembered = firstUse.get(scope);
          const live = remembered !== undefined && now() - remembered.at < RETENTION ? remembered : undefined;
          const answer = await send(caller, `key-${s.key}`, s.input);
          if (live !== undefined && live.input !== s.input) {
            expect(answer).toEqual({ ok: false, code: 'CONFLICT' });
            continue;
          }
          if (live === undefined) firstUse.set(scope, { input: s.input, at: now() });
          const answerKey = `${scope}/${s.input}`;
          if (answer.ok) expect(answer.payload).toMatchObject({ input: s.input, caller: `${caller.role}:${caller.id}` });
          else expect(answer.code).toBe('ILLEGAL_STATE');
          if (!firstAnswer.has(answerKey)) firstAnswer.set(answerKey, answer);
          expect(answer).toEqual(firstAnswer.get(answerKey));
        }
      }),
      { numRuns: 300 },
    );
    expect(cases).toBeGreaterThanOrEqual(300);
  });

  it('given a key used 25 h ago with one input (its outcome forgotten), when it is sent with another input, then it is CONFLICT; with the first input it answers the first result', async () => {
    const { send, advance } = world();
    const ada = callers[0] as Actor;
    const first = await send(ada, 'key-1', 0);
    advance(25 * HOUR);
    expect(await send(ada, 'key-1', 1)).toEqual({ ok: false, code: 'CONFLICT' });
    expect(await send(ada, 'key-1', 0)).toEqual(first);
  });

  it('given a key forgotten entirely (past the retention), when it is sent with another input, then it runs as a new request and never answers the old result', async () => {
    const { send, advance } = world();
    const ada = callers[0] as Actor;
    const first = await send(ada, 'key-1', 0);
    advance(RETENTION + 1);
    const other = await send(ada, 'key-1', 1);
    expect(other).toMatchObject({ ok: true, payload: { input: 1 } });
    expect(other).not.toEqual(first);
  });

  it('given a caller holding as many keys as they may, when they send a new key, then it is RATE_LIMITED and nothing runs; an old key still answers, and another caller is served', async () => {
    const { send } = world(3);
    const ada = callers[0] as Actor;
    for (const key of ['a', 'b', 'c']) expect(await send(ada, key, 0)).toMatchObject({ ok: true });
    expect(await send(ada, 'd', 1)).toEqual({ ok: false, code: 'RATE_LIMITED' });
    expect(await send(ada, 'a', 0)).toMatchObject({ ok: true, payload: { input: 0 } });
    expect(await send(callers[1] as Actor, 'd', 1)).toMatchObject({ ok: true });
  });
});

describe('the per-caller key quota (pure)', () => {
  const limits = fc.record({ perCaller: fc.integer({ min: 1, max: 20 }), horizonMs: fc.integer({ min: 24, max: 10 * 24 * HOUR }) });
  const gaps = fc.array(fc.integer({ min: 0, max: 3 * HOUR }), { minLength: 1, maxLength: 200 });

  it('given any sequence of first uses, then the keys first used within the last horizon never exceed the cap, and a refusal names a wait after which one more is counted', () => {
    fc.assert(
      fc.property(limits, gaps, ({ perCaller, horizonMs }, gaps) => {
        let quota: KeyQuota | null = null;
        let now = 1_700_000_000_000;
        const granted: number[] = [];
        for (const gap of gaps) {
          now += gap;
          const reservation = reserveKey(quota, now, { perCaller, horizonMs });
          if (reservation.kind === 'reserved') {
            quota = reservation.quota;
            granted.push(now);
            expect(granted.filter((at) => at > now - horizonMs).length).toBeLessThanOrEqual(perCaller);
            expect(liveKeys(quota, now, horizonMs).held).toBeLessThanOrEqual(perCaller);
          } else {
            expect(reservation.held).toBe(perCaller);
            expect(reserveKey(quota, now + reservation.retryAfterMs, { perCaller, horizonMs }).kind).toBe('reserved');
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
