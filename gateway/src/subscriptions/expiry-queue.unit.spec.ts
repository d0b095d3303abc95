import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryQueue } from './expiry-queue.ts';

describe('ExpiryQueue', () => {
  beforeEach(() => void vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => void vi.useRealTimers());

  function queue() {
    const fired: Array<[string, number]> = [];
    return { fired, expiring: new ExpiryQueue<string>((item) => fired.push([item, Date.now()])) };
  }

  it('given an expiry already past, then it fires at once', () => {
    const { fired, expiring } = queue();
    expiring.add('a', 999_000);
    vi.advanceTimersByTime(0);
    expect(fired).toEqual([['a', 1_000_000]]);
  });

  it('given items expiring at different times, then each fires once, at its time, on one timer', () => {
    const { fired, expiring } = queue();
    expiring.add('late', 1_005_000);
    expiring.add('early', 1_002_000);
    expiring.add('early too', 1_002_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([
      ['early', 1_002_000],
      ['early too', 1_002_000],
      ['late', 1_005_000],
    ]);
    expect(expiring.size).toBe(0);
  });

  it('given an expiry beyond the longest timer (~24.8 days), then it re-arms and fires at the expiry', () => {
    const { fired, expiring } = queue();
    const in30Days = 1_000_000 + 30 * 86_400_000;
    expiring.add('a', in30Days);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(fired).toEqual([['a', in30Days]]);
  });

  it('given a deleted item, then it never fires and the others still do', () => {
    const { fired, expiring } = queue();
    expiring.add('gone', 1_002_000);
    expiring.add('kept', 1_002_000);
    expiring.delete('gone', 1_002_000);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([['kept', 1_002_000]]);
  });
});
