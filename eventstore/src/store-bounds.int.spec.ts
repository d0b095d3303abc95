import { ensureNatsServer } from '@happyride/local-servers';
import { Kvm } from '@nats-io/kv';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../tests/support/eventually.ts';
import { bootstrapEventLog } from './bootstrap.ts';
import { DRIVER_LOCATIONS_BUCKET } from './driver-locations.ts';
import { IDEMPOTENCY_FINGERPRINTS_BUCKET, IDEMPOTENCY_KEYS_BUCKET, KvIdempotencyKeys, type IdempotencyRecord } from './idempotency-keys.ts';
import { IdempotencyStoreFullError } from './idempotency-quota.ts';
import { LEASES_BUCKET } from './lease.ts';
import { connectNats, type Nats } from './nats.ts';
import { bucketBounds, type StoreBounds } from './store-bounds.ts';
import { EVENTS_STREAM } from './streams.ts';
import { TRIP_SLOTS_BUCKET } from './trip-slots.ts';

const MIB = 1024 * 1024;
/** The server's whole JetStream file store: the buckets' bounds are a small part of it. */
const SERVER_MAX_FILE_STORE = 48 * MIB;
/** Small bounds, so each bucket is filled in a second: the same code path as the defaults. */
const bounds: StoreBounds = {
  idempotencyMaxBytes: 2 * MIB,
  driverLocationsMaxBytes: 1 * MIB,
  tripSlotsMaxBytes: 1 * MIB,
  leasesMaxBytes: 1 * MIB,
  idempotencyKeyTtlMs: 1_500,
  idempotencyRetentionMs: 60_000,
};

/** A nats-server of its own, with a small file store, so filling it starves no other test. */
let server: ChildProcess;
let dir: string;
let nats: Nats;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'store-bounds-nats-'));
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const config = join(dir, 'nats.conf');
  writeFileSync(config, JSON.stringify({ listen: `127.0.0.1:${port}`, jetstream: { store_dir: join(dir, 'js'), max_file_store: SERVER_MAX_FILE_STORE, max_memory_store: 8 * MIB } }));
  server = spawn(await ensureNatsServer(() => {}), ['-c', config], { stdio: 'ignore' });
  nats = await eventually(
    () => connectNats(`nats://127.0.0.1:${port}`, 'store-bounds').catch(() => null),
    (connected) => connected !== null,
    { timeoutMs: 30_000, what: 'the nats-server of this file', intervalMs: 50 },
  ).then((connected) => connected as Nats);
  await bootstrapEventLog(nats.jsm, [], { bounds });
}, 60_000);
afterAll(async () => {
  await nats?.close();
  if (server.exitCode === null) await new Promise<void>((resolve) => server.once('exit', () => resolve()).kill('SIGKILL'));
  rmSync(dir, { recursive: true, force: true });
});

const appendEvent = () => nats.js.publish(`events.trip.${randomUUID()}`, JSON.stringify({ type: 'Probe', data: randomBytes(64).toString('hex') }));

/** Writes until the bucket refuses; answers how many writes it took and the refusal. */
async function fillUntilRefused(write: (n: number) => Promise<unknown>, most: number): Promise<{ writes: number; refusal: unknown }> {
  for (let n = 0; n < most; n++) {
    try {
      await write(n);
    } catch (refusal) {
      return { writes: n, refusal };
    }
  }
  throw new Error(`the store took ${most} writes without refusing one`);
}

describe('an idempotency key past its TTL (a real KV bucket, outcome TTL 1.5 s)', () => {
  it('given a key settled with one input, when its outcome has expired, then the same key with another input is still CONFLICT, and with the same input it runs again', async () => {
    const keys = await KvIdempotencyKeys.open(nats.js);
    const scope = randomUUID().replaceAll('-', '');
    const first: IdempotencyRecord = { fingerprint: 'input-a', mutation: 'requestTrip', firstSeenAt: new Date().toISOString() };
    const claimed = await keys.claim(scope, first, 'caller-ttl');
    await keys.settle(scope, claimed.revision, { ...claimed.record, outcome: { status: 'done', payload: { tripId: 't1' } } });
    const outcomes = await new Kvm(nats.js).open(IDEMPOTENCY_KEYS_BUCKET);
    await eventually(() => outcomes.get(scope), (entry) => entry === null, { timeoutMs: 15_000, what: 'the outcome expired', intervalMs: 100 });

    const other = await keys.claim(scope, { ...first, fingerprint: 'input-b' }, 'caller-ttl');
    expect(other.record.fingerprint).toBe('input-a'); // idempotent() answers CONFLICT on this
    const same = await keys.claim(scope, first, 'caller-ttl');
    expect(same.record).toEqual(first); // no outcome: it runs again, with the same derived ids
  }, 30_000);
});

describe('JetStream store bounds', () => {
  it('given the bootstrap step, then every KV bucket has its max_bytes and the event stream has none', async () => {
    for (const [bucket, maxBytes] of Object.entries(bucketBounds(bounds))) {
      expect((await nats.jsm.streams.info(`KV_${bucket}`)).config.max_bytes, bucket).toBe(maxBytes);
    }
    expect((await nats.jsm.streams.info(EVENTS_STREAM)).config.max_bytes).toBe(-1);
  });

  it('given each KV bucket filled to its bound, when events are appended, then every append is stored', async () => {
    const value = randomBytes(8 * 1024).toString('base64'); // ~11 KB a value
    // The most writes a bucket could take before the server's whole store is full: a bucket
    // without a bound fills the store, and the appends below fail.
    const most = Math.ceil(SERVER_MAX_FILE_STORE / value.length) + 10;

    const keys = await KvIdempotencyKeys.open(nats.js, { perCaller: 1 });
    const record = (n: number): IdempotencyRecord => ({ fingerprint: value, mutation: 'requestTrip', firstSeenAt: `${n}` });
    // Through the idempotency store's own path, one caller per key (each may hold one).
    const idempotency = await fillUntilRefused((n) => keys.claim(`scope${n}`, record(n), `caller${n}`), most);
    expect(idempotency.refusal).toBeInstanceOf(IdempotencyStoreFullError);

    const kvm = new Kvm(nats.js);
    for (const bucket of [IDEMPOTENCY_KEYS_BUCKET, IDEMPOTENCY_FINGERPRINTS_BUCKET, DRIVER_LOCATIONS_BUCKET, TRIP_SLOTS_BUCKET, LEASES_BUCKET]) {
      const kv = await kvm.open(bucket);
      const filled = await fillUntilRefused((n) => kv.put(`fill-${n}`, value), most);
      expect(String(filled.refusal), bucket).toMatch(/maximum bytes exceeded/i);
      const { size } = await kv.status();
      expect(size, bucket).toBeLessThanOrEqual(bucketBounds(bounds)[bucket] ?? 0);
    }

    const before = (await nats.jsm.streams.info(EVENTS_STREAM)).state.messages;
    for (let n = 0; n < 50; n++) await appendEvent();
    expect((await nats.jsm.streams.info(EVENTS_STREAM)).state.messages).toBe(before + 50);
  }, 120_000);
});
