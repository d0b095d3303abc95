import { describe, expect, it } from 'vitest';
import { SocketCounts, tokenExpiresAtMs } from './socket-limits.ts';

describe('SocketCounts', () => {
  it('given max sockets under a key, when one more is added, then it is refused, and after a release it is counted', () => {
    const counts = new SocketCounts(2);
    expect([counts.tryAdd('1.2.3.4'), counts.tryAdd('1.2.3.4'), counts.tryAdd('1.2.3.4')]).toEqual([true, true, false]);
    expect(counts.tryAdd('5.6.7.8')).toBe(true);

    counts.release('1.2.3.4');

    expect(counts.tryAdd('1.2.3.4')).toBe(true);
    expect(counts.count('1.2.3.4')).toBe(2);
  });

  it('given every socket of a key released, then the key is forgotten (memory follows open sockets)', () => {
    const counts = new SocketCounts(5);
    counts.tryAdd('a');
    counts.tryAdd('a');
    counts.release('a');
    counts.release('a');
    expect(counts.size).toBe(0);
  });
});

describe('tokenExpiresAtMs', () => {
  const token = (payload: unknown) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

  it('given a numeric exp, then its time in milliseconds', () => {
    expect(tokenExpiresAtMs(token({ sub: 'p1', exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
  });

  it.each([['no exp', token({ sub: 'p1' })], ['a string exp', token({ exp: '1800000000' })], ['not a JWT', 'garbage'], ['a payload that is not JSON', 'e30.!!!.sig']])(
    'given %s, then undefined',
    (_, value) => {
      expect(tokenExpiresAtMs(value)).toBeUndefined();
    },
  );
});
