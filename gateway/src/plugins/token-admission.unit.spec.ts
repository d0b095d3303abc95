import type { Actor } from '@happyride/domain';
import { InvalidTokenError, KeySetUnavailableError, type TokenVerifier } from '@happyride/platform';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateLimiter } from './rate-limit.ts';
import { tokenAdmission, type Admission } from './token-admission.ts';

/** Tokens `valid:<id>` verify (and are remembered), `down:…` meet a key set that is down, anything else is forged. */
function fakeVerifier(): TokenVerifier & { verifications: number } {
  const known = new Map<string, Actor>();
  const verify = Object.assign(
    async (token: string): Promise<Actor> => {
      verify.verifications++;
      await Promise.resolve(); // another admission may run meanwhile, as with a real signature check
      if (token.startsWith('down:')) throw new KeySetUnavailableError('key set down');
      if (!token.startsWith('valid:')) throw new InvalidTokenError('The bearer token is not valid.');
      const actor: Actor = { id: token.slice(6), role: 'passenger' };
      known.set(token, actor);
      return actor;
    },
    { verifications: 0, remembered: (token: string) => known.get(token) },
  );
  return verify;
}

type Caller = { kind: 'forged'; n: number } | { kind: 'fresh'; user: number } | { kind: 'known'; user: number };

const crowd = fc.record({
  burst: fc.integer({ min: 1, max: 30 }),
  perMinute: fc.integer({ min: 1, max: 600 }),
  /** Valid users whose token was verified before the crowd arrives (some at this address, some elsewhere). */
  knownUsers: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  /** Arrivals in waves: each wave runs at once, then time moves on. */
  waves: fc.array(
    fc.record({
      callers: fc.array(
        fc.oneof(
          { weight: 6, arbitrary: fc.nat(5).map((n): Caller => ({ kind: 'forged', n })) },
          { weight: 1, arbitrary: fc.nat(20).map((user): Caller => ({ kind: 'fresh', user })) },
          { weight: 2, arbitrary: fc.nat(4).map((user): Caller => ({ kind: 'known', user })) },
        ),
        { minLength: 1, maxLength: 25 },
      ),
      pauseMs: fc.integer({ min: 0, max: 3_000 }),
    }),
    { minLength: 1, maxLength: 8 },
  ),
});

describe('tokenAdmission: floods hit the flooder', () => {
  it('given a crowd behind one address (forged tokens, fresh and already verified users, in generated waves), then every valid user is admitted, every forged token refused, and only a burst of them as invalid', async () => {
    await fc.assert(
      fc.asyncProperty(crowd, async ({ burst, perMinute, knownUsers, waves }) => {
        let now = 0;
        const verify = fakeVerifier();
        const limiter = rateLimiter({ perMinute, burst });
        const admit = tokenAdmission({ verify, limiter, now: () => now });
        const address = '203.0.113.7';
        for (const [user, here] of knownUsers.entries()) await admit(`valid:known-${user}`, here ? address : '198.51.100.1');
        const tokenOf = (caller: Caller) =>
          caller.kind === 'forged' ? `forged:${caller.n}` : caller.kind === 'fresh' ? `valid:fresh-${caller.user}` : `valid:known-${caller.user % knownUsers.length}`;
        const refusals: Admission['kind'][] = [];
        for (const { callers, pauseMs } of waves) {
          const answers = await Promise.all(callers.map(async (caller) => ({ caller, admission: await admit(tokenOf(caller), address) })));
          for (const { caller, admission } of answers) {
            if (caller.kind === 'forged') {
              expect(['invalid', 'flooding']).toContain(admission.kind);
              refusals.push(admission.kind);
            } else {
              expect(admission).toEqual({ kind: 'verified', actor: { id: tokenOf(caller).slice(6), role: 'passenger' } });
            }
          }
          now += pauseMs;
        }
        // Only failures spend the budget: at most the burst plus what refilled were answered `invalid`.
        expect(refusals.filter((kind) => kind === 'invalid').length).toBeLessThanOrEqual(burst + Math.floor((now * perMinute) / 60_000));
      }),
      { numRuns: 200 },
    );
  });

  it('given 120 forged tokens from an address, then a user whose token verified before is admitted without a verification, and a first-time user after a verification', async () => {
    const verify = fakeVerifier();
    const limiter = rateLimiter({ perMinute: 600, burst: 100 });
    const admit = tokenAdmission({ verify, limiter, now: () => 0 });
    await admit('valid:p1', '203.0.113.7');
    const refused = await Promise.all(Array.from({ length: 120 }, (_, i) => admit(`forged:${i}`, '203.0.113.7')));
    expect(refused.filter((a) => a.kind === 'flooding')).toHaveLength(20);
    const before = verify.verifications;
    expect(await admit('valid:p1', '203.0.113.7')).toEqual({ kind: 'verified', actor: { id: 'p1', role: 'passenger' } });
    expect(verify.verifications).toBe(before);
    expect(await admit('valid:p2', '203.0.113.7')).toEqual({ kind: 'verified', actor: { id: 'p2', role: 'passenger' } });
  });

  it('given a key set that is down, then unavailable, and the budget is given back', async () => {
    const verify = fakeVerifier();
    const limiter = rateLimiter({ perMinute: 60, burst: 1 });
    const admit = tokenAdmission({ verify, limiter, now: () => 0 });
    for (let i = 0; i < 3; i++) expect((await admit('down:x', '203.0.113.7')).kind).toBe('unavailable');
    expect((await admit('forged:1', '203.0.113.7')).kind).toBe('invalid');
    expect((await admit('forged:2', '203.0.113.7')).kind).toBe('flooding');
  });
});
