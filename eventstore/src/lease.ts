import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { type JetStreamClient, type JetStreamManager } from './nats.ts';
import { openBootstrappedBucket } from './idempotency-keys.ts';
import { sleep } from './sleep.ts';
import { ensureBucket, type ReplicaOptions } from './replicas.ts';

/** The KV bucket of worker leases: one key per exclusive job (a projector's durable consumer). */
export const LEASES_BUCKET = 'worker-leases';

/** Creates the leases bucket if it is missing (history 1). Called by `bootstrapEventLog`. */
export async function ensureLeasesBucket(jsm: JetStreamManager, { maxBytes, replicas }: ReplicaOptions & { maxBytes: number }): Promise<void> {
  await ensureBucket(jsm, LEASES_BUCKET, { history: 1, max_bytes: maxBytes }, { replicas });
}

export type LeaseState = 'standby' | 'active';

/** Who holds the lease `key` now (as its holder named itself), or null if nobody does. */
export async function leaseHolder(js: JetStreamClient, key: string): Promise<string | null> {
  const entry = await (await new Kvm(js).open(LEASES_BUCKET)).get(key);
  return entry?.operation === 'PUT' ? entry.string() : null;
}

export interface LeaseOptions {
  /** Who asks (logged, stored as the key's value). */
  holder: string;
  /**
   * A holder whose key a standby has seen unchanged for this long (by the standby's clock, only
   * counting while the bucket answers it) is presumed dead and may be relieved. The holder
   * renews every third of it.
   */
  ttlMs: number;
  /**
   * How long the holder keeps working while the bucket does not answer its renewals (a KV leader
   * change takes seconds to tens of seconds on a cluster): default 3 × `ttlMs`. Riding it out
   * is safe only for work whose writes are fenced by the lease's token (`work`'s `token`): a
   * standby that took the key over meanwhile has a newer token, and the store refuses the old
   * holder's writes wherever the new one wrote. A renewal refused (the key moved on) ends the
   * work at once.
   */
  rideOutMs?: number;
  signal: AbortSignal;
  onState?: (state: LeaseState, detail: string) => void;
  /**
   * A share of leases this process may hold at once (several keys of one pool): `enter()` is
   * asked right before each attempt to take the key (false: not now, look again later) and
   * `leave()` is called after a failed attempt and whenever the lease is given up.
   */
  slots?: LeaseSlots;
}

/** A counting gate over several leases of one process (see `LeaseOptions.slots`). */
export interface LeaseSlots {
  enter(): boolean;
  leave(): void;
}

/**
 * Runs `work` only while holding the lease `key`, with fail-over: one holder at a time across
 * processes (a JetStream KV key written with compare-and-set). Acquiring is `create` (atomic:
 * fails if someone holds it); the holder renews with `update` on its last revision; a standby
 * that sees the same revision for `ttlMs` by its own clock takes the key over with `update` on
 * that revision (one standby wins). No clocks are compared across processes.
 *
 * `work` gets a signal that aborts when the lease is lost (renewal refused, or impossible for
 * `rideOutMs`), and the lease's fencing token: the key's revision when it was taken, above the
 * token of every earlier holder of any lease of the bucket (revisions only grow), so a store can
 * refuse a write that carries an older token than one it already holds. When `work` resolves
 * without being stopped (it found itself fenced off), the lease is given up and sought again. When `signal` aborts, the lease is released
 * (deleted if still ours) so a standby takes over at once. Resolves once stopped; rejects if
 * `work` rejects (after releasing).
 */
export async function whileLeaseHeld(js: JetStreamClient, key: string, { holder, ttlMs, rideOutMs = 3 * ttlMs, signal, onState = () => {}, slots }: LeaseOptions, work: (lost: AbortSignal, token: number) => Promise<void>): Promise<void> {
  const kv = await openBootstrappedBucket(js, LEASES_BUCKET);
  const step = Math.max(50, Math.floor(ttlMs / 3));
  onState('standby', `waiting for the lease ${key}`);
  while (!signal.aborted) {
    const revision = await acquire(kv, key, holder, ttlMs, step, signal, slots);
    if (revision === null) break;
    onState('active', `holding the lease ${key}`);
    const lost = new AbortController();
    const stopWork = () => lost.abort();
    signal.addEventListener('abort', stopWork, { once: true });
    if (signal.aborted) stopWork(); // stopped while the lease was being taken: no event will come
    let current = revision;
    let renewedAt = Date.now();
    let renewing = false;
    const renew = setInterval(() => {
      if (Date.now() - renewedAt > rideOutMs) lost.abort(new Error(`the lease ${key} could not be renewed for ${rideOutMs} ms`));
      // One renewal at a time: renewals queued behind an outage would all land on one revision,
      // and every one after the first would read as the key taken over.
      if (renewing || lost.signal.aborted) return;
      renewing = true;
      renewOnce(kv, key, holder, current).then(
        (next) => {
          if (next === null) return lost.abort(new Error(`the lease ${key} was taken over`));
          current = next;
          renewedAt = Date.now();
        },
        () => {}, // no answer: ridden out until rideOutMs
      ).finally(() => {
        renewing = false;
      });
    }, step);
    try {
      await work(lost.signal, revision);
    } finally {
      clearInterval(renew);
      signal.removeEventListener('abort', stopWork);
      if (signal.aborted || !lost.signal.aborted) await kv.delete(key, { previousSeq: current }).catch(() => {});
      slots?.leave();
    }
    if (!signal.aborted) onState('standby', `lost the lease ${key}: ${String(lost.signal.reason ?? 'stopped')}`);
  }
}

/**
 * Renews the key held at `revision`: its new revision, or null when someone else holds it now.
 * A renewal refused for its revision may be our own earlier one that landed although its answer
 * was lost (an outage): the key still names this holder then, and its revision is taken as ours.
 */
async function renewOnce(kv: KV, key: string, holder: string, revision: number): Promise<number | null> {
  try {
    return await kv.update(key, holder, revision);
  } catch (error) {
    if (!isWrongRevision(error)) throw error;
    const entry = await kv.get(key);
    return entry?.operation === 'PUT' && entry.string() === holder ? entry.revision : null;
  }
}

/** Waits for the lease; its revision once held, null if stopped first. */
async function acquire(kv: KV, key: string, holder: string, ttlMs: number, step: number, signal: AbortSignal, slots?: LeaseSlots): Promise<number | null> {
  let seen = null as { revision: number; since: number } | null;
  const attempt = async (take: () => Promise<number>): Promise<number | null> => {
    if (slots && !slots.enter()) return null;
    try {
      return await take();
    } catch (error) {
      slots?.leave();
      throw error;
    }
  };
  while (!signal.aborted) {
    try {
      const entry: KvEntry | null = await kv.get(key);
      if (entry === null || entry.operation !== 'PUT') {
        const revision = await attempt(() => kv.create(key, holder));
        if (revision !== null) return revision;
      } else if (seen?.revision !== entry.revision) seen = { revision: entry.revision, since: Date.now() };
      else if (Date.now() - seen.since >= ttlMs) {
        const revision = await attempt(() => kv.update(key, holder, entry.revision));
        if (revision !== null) return revision;
      }
    } catch (error) {
      // Someone else was faster (or NATS did not answer): look again.
      if (!isWrongRevision(error) && !(error instanceof Error)) throw error;
      // A bucket that did not answer was not watched: the holder may have renewed meanwhile, or
      // be riding out the same outage. Counting that time would take the key from a live
      // holder the moment the bucket answers again.
      if (!isWrongRevision(error)) seen = null;
    }
    await sleep(step, signal);
  }
  return null;
}

const isWrongRevision = (error: unknown) => error instanceof Error && /wrong last sequence|key exists/i.test(error.message);
