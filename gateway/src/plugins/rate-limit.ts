import { GraphQLError } from 'graphql';

export interface RateLimitOptions {
  /** Requests per minute per identity (or per IP for anonymous callers); 0 turns it off. */
  perMinute: number;
  /** How many may come at once before the rate applies. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Token buckets keyed by caller: refilled continuously at `perMinute`, at most `burst` full.
 * @example const limiter = rateLimiter({ perMinute: 600, burst: 60 }); limiter.take('user:p1', Date.now())
 */
export function rateLimiter({ perMinute, burst }: RateLimitOptions, maxKeys = 100_000) {
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  return {
    /** Takes one token; returns how many seconds to wait when there is none. */
    take(key: string, now: number): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
      if (perMinute <= 0) return { allowed: true };
      const bucket = buckets.get(key) ?? { tokens: burst, updatedAt: now };
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) * perMs);
      bucket.updatedAt = now;
      buckets.delete(key);
      buckets.set(key, bucket);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
    },
  };
}

export function rateLimitedError(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many requests: try again in ${retryAfterSeconds} s.`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}
