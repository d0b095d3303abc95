import { describe, expect, it } from 'vitest';
import { cachedReadiness, firstReason, readinessCheck } from './readiness.ts';

describe('readiness checks', () => {
  it('given a dependency that answers, then it is ready', async () => {
    expect(await readinessCheck('MongoDB', async () => ({ ok: 1 }))).toBeNull();
  });

  it('given a dependency that never answers, then the check answers unready within its timeout instead of hanging', async () => {
    const reason = await readinessCheck('NATS', () => new Promise(() => {}), 50);
    expect(reason).toBe('NATS did not answer within 50 ms');
  });

  it('given a dependency that fails, then the reason names it', async () => {
    expect(await readinessCheck('NATS JetStream', () => Promise.reject(new Error('no responders')))).toBe('NATS JetStream failed: no responders');
  });

  it('given several checks, then the first reason is reported, or none when all are ready', async () => {
    expect(await firstReason([Promise.resolve(null), Promise.resolve('the trip-queries service failed: fetch failed')])).toBe('the trip-queries service failed: fetch failed');
    expect(await firstReason([Promise.resolve(null), Promise.resolve(null)])).toBeNull();
  });

  it('given a cached readiness, when asked again within its time to live, then the dependencies are not asked again', async () => {
    let clock = 0;
    let asked = 0;
    const ready = cachedReadiness(async () => `asked ${++asked}`, 2_000, () => clock);
    expect(await ready()).toBe('asked 1');
    clock = 1_999;
    expect(await ready()).toBe('asked 1');
    clock = 2_000;
    expect(await ready()).toBe('asked 2');
  });
});
