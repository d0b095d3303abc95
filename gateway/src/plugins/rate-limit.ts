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
  /** When the bucket last moved to the most recently used end of the map. */
  touchedAt: number;
}

export type Verdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const ALLOWED: Verdict = Object.freeze({ allowed: true });

/**
 * Token buckets keyed by caller: refilled continuously at `perMinute`, at most `burst` full.
 * Memory stays bounded: a bucket idle long enough to be full again is dropped (it is the same
 * as no bucket) at most once per `sweepEveryMs`, and beyond `maxKeys` the least recently used go
 * (recency kept to `touchEveryMs`: moving a key to the map's end on every request, a delete and
 * an insert, cost more than the rest of `take` together).
 * The buckets live in this process: N gateway replicas allow a caller up to N× (README,
 * "Running several of each"); a shared bucket would add a NATS round trip to every request.
 * @example const limiter = rateLimiter({ perMinute: 600, burst: 60 }); limiter.take('user:p1', Date.now())
 */
export function rateLimiter({ perMinute, burst }: RateLimitOptions, { maxKeys = 100_000, sweepEveryMs = 60_000, touchEveryMs = 1_000 } = {}) {
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  let sweptAt = -Infinity;
  const refilled = (bucket: Bucket, now: number) => Math.min(burst, bucket.tokens + (now - bucket.updatedAt) * perMs);
  const sweep = (now: number) => {
    if (now - sweptAt < sweepEveryMs) return;
    sweptAt = now;
    for (const [key, bucket] of buckets) if (refilled(bucket, now) >= burst) buckets.delete(key);
  };
  const waitFor = (tokens: number): Verdict => ({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)) });
  return {
    /** Takes one token; returns how many seconds to wait when there is none. */
    take(key: string, now: number): Verdict {
      if (perMinute <= 0) return ALLOWED;
      sweep(now);
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { tokens: burst, updatedAt: now, touchedAt: now };
        buckets.set(key, bucket);
        if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      } else if (now - bucket.touchedAt >= touchEveryMs) {
        bucket.touchedAt = now;
        buckets.delete(key);
        buckets.set(key, bucket);
      }
      bucket.tokens = refilled(bucket, now);
      bucket.updatedAt = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return ALLOWED;
      }
      return waitFor(bucket.tokens);
    },
    /**
     * Gives back a token taken by `take` (capped at `burst`): for a token reserved before costly
     * work whose outcome turned out not to count, e.g. a bearer token that verified.
     */
    refund(key: string, now: number): void {
      const bucket = perMinute > 0 ? buckets.get(key) : undefined;
      if (!bucket) return;
      bucket.tokens = Math.min(burst, refilled(bucket, now) + 1);
      bucket.updatedAt = now;
    },
    /** Buckets held now (for tests of the memory bound). */
    size: () => buckets.size,
  };
}

export type RateLimiter = ReturnType<typeof rateLimiter>;

export function rateLimitedError(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many requests: try again in ${retryAfterSeconds} s.`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}
