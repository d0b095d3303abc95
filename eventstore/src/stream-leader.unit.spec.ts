import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leaderlessReason } from './stream-leader.ts';

const info = (cluster: { name?: string; leader?: string } | undefined, replicas = 3) => ({ config: { name: 'EVENTS', num_replicas: replicas }, ...(cluster ? { cluster } : {}) }) as unknown as Parameters<typeof leaderlessReason>[0];

describe('a stream that cannot take writes is named by its readiness probe', () => {
  it('given a clustered stream whose info names no leader, then the reason names the stream and says why', () => {
    expect(leaderlessReason(info({ name: 'c1' }))).toMatch(/^the stream EVENTS has no leader \(.*3 replicas/);
    expect(leaderlessReason(info({ name: 'c1', leader: '' }))).not.toBeNull();
  });

  it('given any leader, or a single server (no cluster in the info), then the stream is ready', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), (leader) => {
      expect(leaderlessReason(info({ name: 'c1', leader }))).toBeNull();
    }));
    expect(leaderlessReason(info(undefined, 1))).toBeNull();
  });
});
