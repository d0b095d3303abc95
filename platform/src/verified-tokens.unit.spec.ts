import type { Actor } from '@happyride/domain';
import { describe, expect, it } from 'vitest';
import { cachedVerifier } from './verified-tokens.ts';

const ada: Actor = { id: 'p1', role: 'passenger' };

/** A verifier that counts its calls: each token is `<name>:<exp ms>`; `bad` fails. */
function countingVerifier() {
  const calls: string[] = [];
  const verify = async (token: string) => {
    calls.push(token);
    if (token.startsWith('bad')) throw new Error('invalid');
    return { actor: ada, expiresAtMs: Number(token.split(':')[1]) };
  };
  return { calls, verify };
}

describe('cachedVerifier', () => {
  it('given a token that verified, when it comes again before its exp, then it is not verified again', async () => {
    const { calls, verify } = countingVerifier();
    const cached = cachedVerifier(verify, { now: () => 1_000 });
    expect(await cached('t:60000')).toEqual(ada);
    expect(await cached('t:60000')).toEqual(ada);
    expect(calls).toEqual(['t:60000']);
  });

  it('given tokens that verified, failed or expired, then `remembered` names only the live ones, without verifying', async () => {
    const { calls, verify } = countingVerifier();
    let now = 1_000;
    const cached = cachedVerifier(verify, { now: () => now });
    await cached('t:5000');
    await expect(cached('bad:5000')).rejects.toThrow('invalid');
    expect(cached.remembered('t:5000')).toEqual(ada);
    expect(cached.remembered('bad:5000')).toBeUndefined();
    expect(cached.remembered('never:5000')).toBeUndefined();
    now = 5_000;
    expect(cached.remembered('t:5000')).toBeUndefined();
    expect(calls).toEqual(['t:5000', 'bad:5000']);
  });

  it('given a remembered token, when its exp has passed, then it is verified again (and fails as the verifier says)', async () => {
    const { calls, verify } = countingVerifier();
    let now = 1_000;
    const cached = cachedVerifier(async (token) => {
      const verified = await verify(token);
      if (now >= verified.expiresAtMs) throw new Error('expired');
      return verified;
    }, { now: () => now });
    await cached('t:2000');
    now = 2_000;
    await expect(cached('t:2000')).rejects.toThrow('expired');
    expect(calls).toEqual(['t:2000', 't:2000']);
  });

  it('given a token that failed, then it is not remembered: every attempt is verified', async () => {
    const { calls, verify } = countingVerifier();
    const cached = cachedVerifier(verify, { now: () => 0 });
    await expect(cached('bad:9')).rejects.toThrow('invalid');
    await expect(cached('bad:9')).rejects.toThrow('invalid');
    expect(calls).toEqual(['bad:9', 'bad:9']);
  });

  it('given a long-lived token, then it is verified again after maxAgeMs (a rotated key set is noticed)', async () => {
    const { calls, verify } = countingVerifier();
    let now = 0;
    const cached = cachedVerifier(verify, { now: () => now, maxAgeMs: 100 });
    await cached('t:1000000');
    now = 99;
    await cached('t:1000000');
    now = 100;
    await cached('t:1000000');
    expect(calls).toEqual(['t:1000000', 't:1000000']);
  });

  it('given more tokens than maxTokens, then the least recently used (to touchEveryMs) is forgotten', async () => {
    const { calls, verify } = countingVerifier();
    let now = 0;
    const cached = cachedVerifier(verify, { now: () => now, maxTokens: 2, touchEveryMs: 1 });
    await cached('a:9');
    await cached('b:9');
    now = 1;
    await cached('a:9'); // a is now the most recent
    await cached('c:9'); // b goes
    await cached('a:9');
    await cached('b:9');
    expect(calls).toEqual(['a:9', 'b:9', 'c:9', 'b:9']);
  });
});
