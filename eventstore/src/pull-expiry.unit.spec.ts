import { describe, expect, it } from 'vitest';
import { PULL_EXPIRES_MS, pullExpiryFor } from './durable-consumer.ts';

describe('pullExpiryFor', () => {
  it('given a consumer on a JetStream cluster (its info names the cluster), then it pulls with the short expiry, so a dead leader is noticed in seconds', () => {
    expect(pullExpiryFor({ cluster: { name: 'happyride-local' } })).toEqual({ expires: PULL_EXPIRES_MS });
  });

  it('given a consumer on a single server (no cluster in its info), then it keeps nats.js\'s default expiry, one idle re-pull per 30 s', () => {
    expect(pullExpiryFor({})).toEqual({});
    expect(pullExpiryFor({ cluster: {} })).toEqual({});
  });
});
