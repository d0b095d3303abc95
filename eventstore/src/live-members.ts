import type { KV } from '@nats-io/kv';
import { openBootstrappedBucket } from './idempotency-keys.ts';
import { LEASES_BUCKET } from './lease.ts';
import type { JetStreamClient } from './nats.ts';
import { sleep } from './sleep.ts';

export interface LiveMembers {
  /** Members seen alive now, this one included (at least 1). */
  count(): number;
  /** Resolves once stopped (this member taken off the list). */
  done: Promise<void>;
}

/** The members of a group and each one's heartbeat counter, as stored under `members.<group>`. */
type Beats = Record<string, number>;

/**
 * Announces this process as a live member of `group` in the leases bucket and counts the
 * members: one key, `members.<group>`, holds every member's heartbeat counter; each member
 * bumps its own every third of `ttlMs` (compare-and-set on the key's revision, again on a
 * conflict). A member whose counter has not moved for `ttlMs` by this process's own clock is
 * dead (no clocks are compared across processes, as with the leases) and is taken off the
 * list. Stopping takes this member off, so the others count one fewer at their next look.
 * `onChange` is called after each look with the count (the last one known when a look failed:
 * `onError` says why).
 *
 * One key rather than one per member: listing keys needs a consumer on the bucket, which the
 * services' NATS rights do not grant.
 */
export async function announceLiveMember(
  js: JetStreamClient,
  group: string,
  {
    holder,
    ttlMs,
    signal,
    onChange = () => {},
    onError = () => {},
  }: { holder: string; ttlMs: number; signal: AbortSignal; onChange?: (count: number) => void; onError?: (error: unknown) => void },
): Promise<LiveMembers> {
  const kv = await openBootstrappedBucket(js, LEASES_BUCKET);
  const key = `members.${group}`;
  const step = Math.max(50, Math.floor(ttlMs / 3));
  const seen = new Map<string, { beat: number; since: number }>();
  let live = 1;
  const alive = (member: string, beat: number, now: number) => {
    const before = seen.get(member);
    if (before?.beat !== beat) seen.set(member, { beat, since: now });
    return member === holder || now - (seen.get(member)?.since ?? now) < ttlMs;
  };
  const look = async () => {
    const beats = await changeBeats(kv, key, (stored) => {
      const now = Date.now();
      const next: Beats = {};
      for (const [member, beat] of Object.entries(stored)) if (alive(member, beat, now)) next[member] = beat;
      next[holder] = (stored[holder] ?? 0) + 1;
      return next;
    });
    for (const member of [...seen.keys()]) if (!(member in beats)) seen.delete(member);
    live = Math.max(1, Object.keys(beats).length);
    onChange(live);
  };
  await look();
  const done = (async () => {
    while (!signal.aborted) {
      await sleep(step, signal);
      if (signal.aborted) break;
      // NATS away, or the key kept changing: keep the last count (and act on it), look again.
      await look().catch((error: unknown) => {
        onError(error);
        onChange(live);
      });
    }
    await changeBeats(kv, key, ({ [holder]: _gone, ...others }) => others).catch(() => {});
  })();
  return { count: () => live, done };
}

/** Read-modify-write of the members' key with compare-and-set, again on a conflict; the list written. */
async function changeBeats(kv: KV, key: string, change: (beats: Beats) => Beats): Promise<Beats> {
  for (let attempt = 0; ; attempt++) {
    const entry = await kv.get(key);
    const stored = entry?.operation === 'PUT' ? (entry.json<Beats>() ?? {}) : {};
    const next = change(stored);
    try {
      if (entry === null) await kv.create(key, JSON.stringify(next));
      else await kv.update(key, JSON.stringify(next), entry.revision);
      return next;
    } catch (error) {
      if (attempt >= 20 || !(error instanceof Error && /wrong last sequence|key exists/i.test(error.message))) throw error;
    }
  }
}
