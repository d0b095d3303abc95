import { Kvm } from '@nats-io/kv';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { bootstrapEventLog } from './bootstrap.ts';
import { LEASES_BUCKET } from './lease.ts';
import { announceLiveMember } from './live-members.ts';
import { connectNats, type Nats } from './nats.ts';

let nats: Nats;
beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'live-members-int');
  await bootstrapEventLog(nats.jsm, []);
});
afterAll(() => nats.close());

const TTL_MS = 600;

/** Every count one member reported, in order, and every look that failed. */
async function member(group: string, name: string, stop: AbortController) {
  const counts: number[] = [];
  const errors: unknown[] = [];
  const members = await announceLiveMember(nats.js, group, {
    holder: name,
    ttlMs: TTL_MS,
    signal: stop.signal,
    onChange: (count) => counts.push(count),
    onError: (error) => errors.push(error),
  });
  return { members, counts, errors };
}

describe('live members counted through one key of the leases bucket', () => {
  it('given three members bumping one key at once, when they look many times, then each counts three every time after the first round and no look fails', async () => {
    const group = `spec-${randomUUID().slice(0, 8)}`;
    const stops = [new AbortController(), new AbortController(), new AbortController()];
    const all = await Promise.all(stops.map((stop, i) => member(group, `m${i}`, stop)));
    await expect.poll(() => all.every(({ counts }) => counts.filter((count) => count === 3).length >= 10), { timeout: 20_000 }).toBe(true);
    for (const { counts, errors } of all) {
      expect(errors).toEqual([]);
      const fromThree = counts.slice(counts.indexOf(3));
      expect(fromThree.every((count) => count === 3), JSON.stringify(counts)).toBe(true);
    }
    stops.forEach((stop) => stop.abort());
    await Promise.all(all.map(({ members }) => members.done));
  });

  it('given two members, when one stops, then the other counts one; when one dies without a word, the other counts one after the time to live', async () => {
    const group = `spec-${randomUUID().slice(0, 8)}`;
    const [a, b] = [new AbortController(), new AbortController()];
    const first = await member(group, 'a', a);
    const second = await member(group, 'b', b);
    await expect.poll(() => first.members.count(), { timeout: 5_000 }).toBe(2);
    b.abort();
    await second.members.done;
    await expect.poll(() => first.members.count(), { timeout: 5_000 }).toBe(1);

    // A member that stops bumping (its process killed): written once, never again.
    const ghost = JSON.stringify({ ghost: 1, a: 1 });
    const kv = await new Kvm(nats.js).open(LEASES_BUCKET);
    const entry = await kv.get(`members.${group}`);
    await kv.update(`members.${group}`, ghost, entry!.revision);
    await expect.poll(() => first.members.count(), { timeout: 2_000 }).toBe(2);
    await expect.poll(() => first.members.count(), { timeout: 5_000 }).toBe(1);
    a.abort();
    await first.members.done;
  });
});
