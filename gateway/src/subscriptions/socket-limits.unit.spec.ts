import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { atExpiry, SocketCounts, tokenExpiresAtMs } from './socket-limits.ts';

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

describe('atExpiry', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  it('given an expiry already past, then it fires at once', () => {
    let fired = 0;
    atExpiry(999_000, () => fired++);
    expect(fired).toBe(1);
  });

  it('given an expiry in the future, then it fires once, at that time', () => {
    const fired: number[] = [];
    atExpiry(1_002_000, () => fired.push(Date.now()));
    vi.advanceTimersByTime(1_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([1_002_000]);
  });

  it('given an expiry beyond the longest timer (~24.8 days), then it re-arms and fires at the expiry', () => {
    const fired: number[] = [];
    const in30Days = 1_000_000 + 30 * 86_400_000;
    atExpiry(in30Days, () => fired.push(Date.now()));
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(fired).toEqual([in30Days]);
  });

  it('given a cancelled expiry, then it never fires', () => {
    let fired = 0;
    const cancel = atExpiry(1_002_000, () => fired++);
    cancel();
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(0);
  });
});
