import { describe, expect, it } from 'vitest';
import { clientIp, parseTrustedProxies } from './client-ip.ts';
import { rateLimiter } from './rate-limit.ts';

describe('rateLimiter', () => {
  it('given tokens reserved before verification, when some are refunded, then only the kept ones count against the burst', () => {
    const limiter = rateLimiter({ perMinute: 60, burst: 3 });
    // given three reservations in flight at once (three concurrent requests from one address)
    expect([0, 0, 0].map(() => limiter.take('bad-token:a', 0).allowed)).toEqual([true, true, true]);
    // then a fourth, still in flight with them, is refused before its verification
    expect(limiter.take('bad-token:a', 0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // when two of the three verified, their tokens come back
    limiter.refund('bad-token:a', 0);
    limiter.refund('bad-token:a', 0);
    expect(limiter.take('bad-token:a', 0).allowed).toBe(true);
    expect(limiter.take('bad-token:a', 0).allowed).toBe(true);
    expect(limiter.take('bad-token:a', 0).allowed).toBe(false);
  });

  it('given a full bucket, when refunded, then it stays capped at the burst', () => {
    const limiter = rateLimiter({ perMinute: 60, burst: 2 });
    limiter.take('k', 0);
    for (let i = 0; i < 5; i++) limiter.refund('k', 0);
    expect([0, 0, 0].map(() => limiter.take('k', 0).allowed)).toEqual([true, true, false]);
  });

  it('given 10,000 callers that each came once and left, then their full buckets are swept after a minute', () => {
    const limiter = rateLimiter({ perMinute: 600, burst: 10 });
    for (let i = 0; i < 10_000; i++) limiter.take(`ip:${i}`, 0);
    expect(limiter.size()).toBe(10_000);
    // when one more request comes a minute later (every idle bucket is full again)
    limiter.take('ip:late', 60_000);
    // then only the caller just seen is held
    expect(limiter.size()).toBe(1);
  });

  it('given a caller still short of tokens, then the sweep keeps its bucket (its limit stands)', () => {
    const limiter = rateLimiter({ perMinute: 1, burst: 5 });
    for (let i = 0; i < 5; i++) limiter.take('ip:busy', 0);
    limiter.take('ip:other', 60_000);
    expect(limiter.size()).toBe(2);
    expect(limiter.take('ip:busy', 60_000).allowed).toBe(true);
    expect(limiter.take('ip:busy', 60_000).allowed).toBe(false);
  });

  it('given more keys than maxKeys, then the least recently used go', () => {
    const limiter = rateLimiter({ perMinute: 60, burst: 1 }, { maxKeys: 3 });
    for (const key of ['a', 'b', 'c', 'd']) limiter.take(key, 0);
    expect(limiter.size()).toBe(3);
    expect(limiter.take('a', 0).allowed).toBe(true); // forgotten, so full again
  });

  it('given a key used again a second later, when more keys than maxKeys come, then the keys used before it go first', () => {
    const limiter = rateLimiter({ perMinute: 1, burst: 1 }, { maxKeys: 3, touchEveryMs: 1_000 });
    for (const key of ['a', 'b', 'c']) limiter.take(key, 0);
    limiter.take('a', 1_000); // refused (empty), and now the most recently used
    limiter.take('d', 1_000);
    expect(limiter.take('a', 1_000).allowed).toBe(false); // kept: still empty
    expect(limiter.take('b', 1_000).allowed).toBe(true); // forgotten, so full again
  });
});

describe('clientIp', () => {
  const none = parseTrustedProxies('');
  const proxies = parseTrustedProxies('10.0.0.0/8, 192.168.1.7, ::1');

  it('given no trusted proxies, then X-Forwarded-For is ignored: the peer is the client', () => {
    expect(clientIp('203.0.113.5', '1.2.3.4', none)).toBe('203.0.113.5');
  });

  it('given an untrusted peer that sends X-Forwarded-For, then it is ignored', () => {
    expect(clientIp('203.0.113.5', '10.0.0.1, 1.2.3.4', proxies)).toBe('203.0.113.5');
  });

  it('given a trusted proxy, then the rightmost untrusted hop is the client, whatever the client prepended', () => {
    expect(clientIp('10.0.0.2', '6.6.6.6, 198.51.100.7', proxies)).toBe('198.51.100.7');
    expect(clientIp('10.0.0.2', '6.6.6.6, 198.51.100.7, 10.1.1.1', proxies)).toBe('198.51.100.7');
    expect(clientIp('::ffff:192.168.1.7', ['198.51.100.7'], proxies)).toBe('198.51.100.7');
  });

  it('given a trusted proxy and a garbage hop, then the walk stops at the last address believed', () => {
    expect(clientIp('10.0.0.2', 'not-an-ip', proxies)).toBe('10.0.0.2');
    expect(clientIp('10.0.0.2', 'junk, 10.0.0.9', proxies)).toBe('10.0.0.9');
  });

  it('given a trusted proxy without the header, then the proxy is the client', () => {
    expect(clientIp('::1', undefined, proxies)).toBe('::1');
  });

  it('given a dual-stack IPv4 peer, then it is written as IPv4', () => {
    expect(clientIp('::ffff:203.0.113.5', undefined, none)).toBe('203.0.113.5');
  });

  it.each([['10.0.0.0/33'], ['not-an-ip'], ['10.0.0.1/8/1'], ['::1/129'], ['10.0.0.0/x']])('given TRUSTED_PROXIES=%s, then start-up stops naming it', (raw) => {
    expect(() => parseTrustedProxies(raw)).toThrow(/^TRUSTED_PROXIES must be comma-separated IP addresses or CIDR ranges/);
  });
});
