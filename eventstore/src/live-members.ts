import type { KV } from '@nats-io/kv';
import { openBootstrappedBucket } from './idempotency-keys.ts';
import { LEASES_BUCKET } from './lease.ts';
import type { JetStreamClient } from './nats.ts';
import { sleep } from './sleep.ts';

export interface LiveMembers {
  /** Members seen alive now, this one included (at least 1). */
  count(): number;
  /** Resolves once stopped (the announcement deleted). */
  done: Promise<void>;
}

/**
 * Announces this process as a live member of `group` in the leases bucket and counts the
 * others: each member rewrites its key `members.<group>.<id>` every third of `ttlMs`; a key
 * whose revision has not moved for `ttlMs` by this process's own clock is a dead member's (no
 * clocks are compared across processes, as with the leases). Stopping deletes the key, so the
 * others count one fewer at their next look. `onChange` is called after each look.
 */
export async function announceLiveMember(
  js: JetStreamClient,
  group: string,
  { holder, ttlMs, signal, onChange = () => {} }: { holder: string; ttlMs: number; signal: AbortSignal; onChange?: (count: number) => void },
): Promise<LiveMembers> {
  const kv = await openBootstrappedBucket(js, LEASES_BUCKET);
  const prefix = `members.${group}.`;
  const own = `${prefix}${holder.replace(/[^-\w]/g, '_')}`;
  const step = Math.max(50, Math.floor(ttlMs / 3));
  const seen = new Map<string, { revision: number; since: number }>();
  let live = 1;
  const look = async () => {
    await kv.put(own, holder);
    const now = Date.now();
    const keys = await collect(kv, `${prefix}>`);
    for (const key of [...seen.keys()]) if (!keys.includes(key)) seen.delete(key);
    let count = 0;
    for (const key of keys) {
      const entry = await kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      const before = seen.get(key);
      if (before?.revision !== entry.revision) seen.set(key, { revision: entry.revision, since: now });
      if (key === own || now - (seen.get(key)?.since ?? now) < ttlMs) count++;
    }
    live = Math.max(1, count);
    onChange(live);
  };
  await look();
  const done = (async () => {
    while (!signal.aborted) {
      await sleep(step, signal);
      if (signal.aborted) break;
      await look().catch(() => {}); // NATS away: keep the last count, look again
    }
    await kv.delete(own).catch(() => {});
  })();
  return { count: () => live, done };
}

async function collect(kv: KV, filter: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  return keys;
}
