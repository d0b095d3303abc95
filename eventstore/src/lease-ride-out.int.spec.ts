import { startLocalServers, type LocalServers } from '@happyride/local-servers';
import { Kvm } from '@nats-io/kv';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, until } from '../../tests/support/eventually.ts';
import { bootstrapEventLog } from './bootstrap.ts';
import { LEASES_BUCKET, leaseHolder, whileLeaseHeld, type LeaseState } from './lease.ts';
import { connectNats, type Nats } from './nats.ts';

/**
 * A lease holder and a standby on a nats-server of this file's own, frozen (SIGSTOP) for longer
 * than the TTL and thawed: what a KV leader change looks like to both (no answer, then answers
 * again). The holder rides it out; the standby does not count time it could not watch.
 */
let servers: LocalServers;
let holderNats: Nats;
let standbyNats: Nats;
beforeAll(async () => {
  servers = await startLocalServers({ env: { MONGODB_URL: inject('mongoUrl') }, log: () => {} });
  holderNats = await connectNats(servers.natsUrl, 'lease-holder');
  standbyNats = await connectNats(servers.natsUrl, 'lease-standby');
  await bootstrapEventLog(holderNats.jsm, []);
}, 120_000);
afterAll(async () => {
  await holderNats?.close();
  await standbyNats?.close();
  await servers?.stop();
});

const TTL_MS = 1_000;

describe('a lease holder when the leases bucket stops answering for a while', () => {
  it('given a holder and a standby, when the bucket answers nothing for 2.5 TTLs and then answers again, then the holder kept its work and its lease, and the standby never took over', async () => {
    // Given
    const key = `ride-out-${randomUUID().slice(0, 8)}`;
    const stop = new AbortController();
    const states: Array<[who: string, state: LeaseState]> = [];
    const watch = (who: string) => (state: LeaseState) => void states.push([who, state]);
    const work = (flags: Flags) => async (lost: AbortSignal) => {
      flags.starts++;
      flags.working = true;
      flags.lost = lost;
      await new Promise((resolve) => lost.addEventListener('abort', resolve, { once: true }));
      flags.working = false;
    };
    type Flags = { starts: number; working: boolean; lost?: AbortSignal };
    const holderFlags: Flags = { starts: 0, working: false };
    const standbyFlags: Flags = { starts: 0, working: false };
    const holder = whileLeaseHeld(holderNats.js, key, { holder: 'holder', ttlMs: TTL_MS, signal: stop.signal, onState: watch('holder') }, work(holderFlags));
    await until(() => holderFlags.working, { what: 'the holder working' });
    const standby = whileLeaseHeld(standbyNats.js, key, { holder: 'standby', ttlMs: TTL_MS, signal: stop.signal, onState: watch('standby') }, work(standbyFlags));
    await until(() => states.some(([who, state]) => who === 'standby' && state === 'standby'), { what: 'the standby waiting' });
    const kv = await new Kvm(holderNats.js).open(LEASES_BUCKET);
    const revisionBefore = (await kv.get(key))!.revision;

    // When: the server answers nothing for 2.5 TTLs (more than the TTL, less than the holder's ride-out)
    const pid = servers.natsNodes[0]!.pid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, 2.5 * TTL_MS)); // the outage's length, not a wait for state
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    // Then: the holder renews again (the key's revision moves on twice), still at work …
    await eventually(async () => (await kv.get(key))?.revision ?? 0, (revision) => revision >= revisionBefore + 2, { timeoutMs: 10 * TTL_MS, what: 'the holder renewing after the outage' });
    // … and through two more TTLs of answers, the standby, watching again, sees a live key and waits.
    const watched = await eventually(async () => (await kv.get(key))!.revision, (revision) => revision >= revisionBefore + 8, { timeoutMs: 10 * TTL_MS, what: 'six more renewals' });
    expect(watched).toBeGreaterThanOrEqual(revisionBefore + 8);
    // (the holder's work began once and was never stopped: no loss, even one regained since)
    expect(holderFlags).toMatchObject({ starts: 1, working: true, lost: { aborted: false } });
    expect(states.filter(([who]) => who === 'holder').map(([, state]) => state)).toEqual(['standby', 'active']);
    expect(standbyFlags.starts).toBe(0);
    expect(states.filter(([who]) => who === 'standby').map(([, state]) => state)).toEqual(['standby']);
    expect(await leaseHolder(holderNats.js, key)).toBe('holder');

    stop.abort();
    await Promise.all([holder, standby]);
  }, 60_000);
});
