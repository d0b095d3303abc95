/**
 * The projector heals itself (issue 12): a dead reader's unacknowledged deliveries are not
 * waited for and never turn into version gaps, a message that is not a commit is parked at
 * once, a deleted consumer is noticed and recreated, and a second projector stands by behind
 * a lease and takes over when the active one dies. Real nats-server and FerretDB.
 */
import { bootstrapEventLog, connectNats, EVENTS_STREAM, ensureConsumer, JetStreamEventStore, type Delivery, type Nats } from '@happyride/eventstore';
import { connectMongo, createLogger, DEAD_LETTERS_COLLECTION, MongoDeadLetterStore, type Mongo } from '@happyride/platform';
import type { Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyToAggregateViews } from './aggregate-view.ts';
import { frozenBeforeWrite } from './frozen-db.testing.ts';
import { passengersProjection, type PassengerView } from './passengers/passenger-view.ts';
import { PartitionShare } from './partition-share.ts';
import { aggregateViewProjector, runAggregateViewProjector, runProjector, type BatchProjector, type ProjectorHealth, type ProjectorOptions } from './projector.ts';

let nats: Nats;
let mongo: Mongo;
let store: JetStreamEventStore;
const logger = createLogger('test', 'silent');
const databases: Db[] = [];
const running: Array<{ stop: AbortController; done: Promise<void> }> = [];

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'projector-resilience-test');
  mongo = await connectMongo(inject('mongoUrl'), 'test_resilience_unused', 'test');
  await bootstrapEventLog(nats.jsm, []);
  store = new JetStreamEventStore(nats.js, nats.jsm);
});
afterAll(async () => {
  for (const { stop, done } of running) {
    stop.abort();
    await done.catch(() => {});
  }
  for (const db of databases) await db.dropDatabase().catch(() => {});
  await mongo.close();
  await nats.close();
});

function freshDb(): Db {
  const db = mongo.client.db(`test_resilience_${randomUUID().slice(0, 8)}`);
  databases.push(db);
  return db;
}
const prefix = () => `pr-${randomUUID().slice(0, 8)}`;
const meta = () => ({ commandId: randomUUID(), correlationId: 'corr', now: new Date().toISOString() });
const register = (id: string) => store.append('passenger', id, [{ type: 'PassengerRegistered', data: { passengerId: id, name: `${id} v1` } }], 0, meta());
const rename = (id: string, version: number) =>
  store.append('passenger', id, [{ type: 'PassengerDetailsUpdated', data: { passengerId: id, name: `${id} v${version + 1}` } }], version, meta());

async function freshConsumer(): Promise<string> {
  const name = `test-resilience-${randomUUID().slice(0, 8)}`;
  await ensureConsumer(nats.jsm, { name, description: 'test', aggregateTypes: ['passenger'], startAt: 'new' });
  return name;
}

function start(db: Db, options: Omit<ProjectorOptions, 'signal'>, connection: Nats = nats) {
  const stop = new AbortController();
  const done = runAggregateViewProjector(connection, db, passengersProjection, logger, { ...options, signal: stop.signal });
  const entry = { stop, done };
  running.push(entry);
  return entry;
}

/** Polls until `ok`; fails the test with `what` when it never holds. */
async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`never happened: ${what} (last: ${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const versions = (db: Db, ids: string[]) =>
  db
    .collection<PassengerView>('passengers')
    .find({ _id: { $in: ids } })
    .toArray()
    .then((docs) => Object.fromEntries(docs.map((d) => [d._id, d.version])));

describe('projector after a crash: the dead reader left deliveries unacknowledged', () => {
  it('given a consumer whose first commits were delivered to a reader that died, when the projector starts, then every view reaches its last version without a dead letter', async () => {
    // Given: five passengers with three commits each, and a reader that fetched the first
    // seven deliveries and died without acknowledging them (they come back only after ack_wait).
    const db = freshDb();
    const consumerName = await freshConsumer();
    const ids = Array.from({ length: 5 }, (_, i) => `${prefix()}-${i}`);
    for (const id of ids) await register(id);
    for (const id of ids) await rename(id, 1);
    for (const id of ids) await rename(id, 2);
    const dead = await (await nats.js.consumers.get(EVENTS_STREAM, consumerName)).fetch({ max_messages: 7, expires: 2_000 });
    for await (const _ of dead) if (dead.getReceived() >= 7) break;
    expect((await nats.jsm.consumers.info(EVENTS_STREAM, consumerName)).num_ack_pending).toBe(7);

    // When: the projector starts at once, with dead letters after only two failures.
    const deadLetters = new MongoDeadLetterStore(db);
    start(db, { consumerName, deadLetters: { store: deadLetters, maxDeliveries: 2 } });

    // Then: every passenger reaches version 3 and nothing is parked.
    await eventually(() => versions(db, ids), (v) => ids.every((id) => v[id] === 3), 'every passenger at version 3');
    expect(await db.collection(DEAD_LETTERS_COLLECTION).countDocuments()).toBe(0);
  });
});

describe('a message on events.> that is not a commit', () => {
  it('given raw garbage and a bad envelope on a passenger subject between good commits, when projected, then both are parked at once and the good commits flow', async () => {
    // Given
    const db = freshDb();
    const consumerName = await freshConsumer();
    const deadLetters = new MongoDeadLetterStore(db);
    await deadLetters.ensureIndexes();
    start(db, { consumerName, deadLetters: { store: deadLetters, maxDeliveries: 1_000 } });
    const id = prefix();
    await register(id);

    // When: garbage, then JSON that is no envelope, on a passenger subject; then more good commits.
    const garbage = `events.passenger.${id}-garbage`;
    nats.connection.publish(garbage, 'this is {not json');
    nats.connection.publish(garbage, JSON.stringify({ hello: 'world' }));
    await nats.connection.flush();
    await rename(id, 1);

    // Then: the good commits are applied and both bad messages are parked, once each, holding nothing behind them.
    await eventually(() => versions(db, [id]), (v) => v[id] === 2, 'the rename after the garbage applied');
    const letters = await eventually(() => deadLetters.list(consumerName, 10), (l) => l.length === 2, 'two dead letters');
    expect(letters.map((l) => ({ key: l.key, reason: l.reason, attempts: l.attempts }))).toEqual([
      { key: `malformed:${garbage}`, reason: 'failed', attempts: 1 },
      { key: `malformed:${garbage}`, reason: 'failed', attempts: 1 },
    ]);
    expect(letters[0]?.error).toMatch(/^not a valid commit: /);
    expect(letters[0]?.raw).toBe('this is {not json');
    // (Parked at their first delivery: `attempts: 1`. The consumer's own redelivery counts are no
    // measure here: it follows every passenger subject from 'new', and in a full int run other
    // files' renames of passengers it never saw registered come as version gaps, retried.)
  });
});

describe('the durable consumer deleted under a running projector', () => {
  it('given a running projector, when its consumer is deleted and commits keep coming, then it notices, recreates the consumer from where it was and applies them', async () => {
    // Given
    const db = freshDb();
    const consumerName = await freshConsumer();
    const health: ProjectorHealth = { state: 'starting', failingSince: null, position: 0 };
    start(db, { consumerName, health });
    const id = prefix();
    await register(id);
    await eventually(() => versions(db, [id]), (v) => v[id] === 1, 'the registration applied');

    // When
    await nats.jsm.consumers.delete(EVENTS_STREAM, consumerName);
    await rename(id, 1);
    await rename(id, 2);

    // Then: the consumer exists again, and the view caught up.
    await eventually(() => versions(db, [id]), (v) => v[id] === 3, 'the renames after the deletion applied');
    const info = await eventually(
      () => nats.jsm.consumers.info(EVENTS_STREAM, consumerName).catch((error: unknown) => String(error)),
      (found) => typeof found !== 'string',
      'the recreated consumer',
    );
    expect(typeof info !== 'string' && (info.config.filter_subjects ?? [info.config.filter_subject])).toEqual(['events.passenger.*']);
    expect(health.state).toBe('active');
  });
});

describe('a projector whose consumer is missing at start', () => {
  it('given no consumer and no catalogue definition, when the projector starts, then its loop stops with an error (the process exits non-zero)', async () => {
    const db = freshDb();
    const { done } = start(db, { consumerName: `test-resilience-missing-${randomUUID().slice(0, 8)}` });
    await expect(done).rejects.toThrow(/does not exist: run the bootstrap step/);
  });

  it('given its catalogue definition, when the projector starts, then it creates the consumer and projects', async () => {
    const db = freshDb();
    const consumerName = `test-resilience-created-${randomUUID().slice(0, 8)}`;
    const id = prefix();
    await register(id);
    start(db, { consumerName, definition: { name: consumerName, description: 'test', aggregateTypes: ['passenger'] } });
    await eventually(() => versions(db, [id]), (v) => v[id] === 1, 'the registration projected through the created consumer');
  });
});

describe('two projectors for the same read model', () => {
  it('given two instances behind one lease, then only one applies; when the active one dies, the other takes over and the read model converges', async () => {
    // Given: two instances, each on its own NATS connection, one lease key (the consumer name).
    const db = freshDb();
    const consumerName = await freshConsumer();
    const connections = [await connectNats(inject('natsUrl'), 'projector-a'), await connectNats(inject('natsUrl'), 'projector-b')] as const;
    const healths = connections.map((): ProjectorHealth => ({ state: 'starting', failingSince: null, position: 0 }));
    const instances = connections.map((connection, i) =>
      start(db, { consumerName, health: healths[i]!, lease: { holder: `instance-${i}`, ttlMs: 1_500 } }, connection),
    );
    const ids = Array.from({ length: 3 }, () => prefix());
    for (const id of ids) await register(id);
    await eventually(() => versions(db, ids), (v) => ids.every((id) => v[id] === 1), 'registrations applied');

    // Then: exactly one is active, the other stands by and has applied nothing.
    const active = healths.findIndex((h) => h.state === 'active');
    const standby = 1 - active;
    expect(active).toBeGreaterThanOrEqual(0);
    expect(healths[standby]).toMatchObject({ state: 'standby', position: 0 });

    // When: the active one dies (its connection is gone, it cannot release the lease), and renames keep coming.
    await connections[active]!.connection.close();
    instances[active]!.stop.abort();
    for (const id of ids) await rename(id, 1);
    for (const id of ids) await rename(id, 2);

    // Then: the standby takes over and the read model converges.
    await eventually(() => versions(db, ids), (v) => ids.every((id) => v[id] === 3), 'renames applied by the standby');
    expect(healths[standby]?.state).toBe('active');
    expect(healths[standby]!.position).toBeGreaterThan(0);
    expect(await db.collection(DEAD_LETTERS_COLLECTION).countDocuments()).toBe(0);
    instances[standby]!.stop.abort();
    await instances[standby]!.done;
    await connections[standby]!.close();
  });
});

describe('a partition given up while its projector is still starting', () => {
  it('given one process winning both partitions alone, when a second projector is counted while partition 1 is still preparing, then partition 1 stops and gives its lease up, and partition 0 goes on', async () => {
    // Given: one process, alone (1 live projector), wins both partitions; partition 1 is slow to prepare.
    const db = freshDb();
    const consumers = [await freshConsumer(), await freshConsumer()];
    let live = 1;
    const share = new PartitionShare(2, () => live);
    let preparing: () => void = () => {};
    const partitionOnePreparing = new Promise<void>((resolve) => (preparing = resolve));
    let letGo: () => void = () => {};
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const base = aggregateViewProjector(passengersProjection);
    const slowToStart: BatchProjector = {
      ...base,
      prepare: async (on, generation, partition) => {
        await base.prepare?.(on, generation, partition);
        if (partition?.index !== 1) return;
        preparing();
        await gate;
      },
    };
    const healths = consumers.map((): ProjectorHealth => ({ state: 'starting', failingSince: null, position: 0 }));
    for (const [index, consumerName] of consumers.entries()) {
      const stop = new AbortController();
      const options = { consumerName, partition: { index, count: 2 }, share, lease: { holder: 'the-first-process', ttlMs: 1_500 }, health: healths[index]!, signal: stop.signal };
      running.push({ stop, done: runProjector(nats, db, slowToStart, logger, options) });
    }
    await partitionOnePreparing;
    expect(share.holding()).toEqual([0, 1]);

    // When: a second projector is counted (its share is one partition) before partition 1 has started consuming.
    live = 2;
    share.rebalance();
    letGo();

    // Then: partition 1 stands by (its lease given up for the newcomer); partition 0 is still active.
    await eventually(async () => healths.map((health) => health.state), (states) => states[1] === 'standby', 'partition 1 given up');
    expect(healths[0]?.state).toBe('active');
    expect(share.holding()).toEqual([0]);
  });
});

describe('a projector fenced off by the store', () => {
  it('given the lease holder frozen between the read and the write of a batch while a newer token writes the same documents, when it resumes, then its write is refused, it gives the batch and the lease up, takes the lease again and the view never goes back', async () => {
    // Given: a projector behind a lease whose first batch with a rename stops between its read and its write.
    const db = freshDb();
    const consumerName = await freshConsumer();
    const id = prefix();
    await register(id);
    const states: string[] = [];
    const health: ProjectorHealth = { state: 'starting', failingSince: null, position: 0 };
    let state = health.state;
    Object.defineProperty(health, 'state', { get: () => state, set: (next: ProjectorHealth['state']) => void (state = next, states.push(next)) });
    let frozen: (token: number) => void = () => {};
    const isFrozen = new Promise<number>((resolve) => (frozen = resolve));
    let thaw: () => void = () => {};
    const thawed = new Promise<void>((resolve) => (thaw = resolve));
    const base = aggregateViewProjector(passengersProjection);
    let froze = false;
    const freezing: BatchProjector = {
      ...base,
      apply: (on, batch, generation, partition, token) => {
        if (froze || !batch.some(({ commit }) => commit.aggregateId === id && commit.version === 2)) return base.apply(on, batch, generation, partition, token);
        froze = true;
        return base.apply(frozenBeforeWrite(on, () => (frozen(token), thawed)), batch, generation, partition, token);
      },
    };
    const stop = new AbortController();
    running.push({ stop, done: runProjector(nats, db, freezing, logger, { consumerName, health, lease: { holder: 'frozen-one', ttlMs: 1_500 }, signal: stop.signal }) });
    await eventually(() => versions(db, [id]), (v) => v[id] === 1, 'the registration applied');
    const sampled: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        sampled.push((await versions(db, [id]))[id] ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    // When: renames come; the holder reads version 1 and freezes; a newer token applies them all meanwhile; then it resumes.
    for (let v = 1; v <= 3; v++) await rename(id, v);
    const token = await isFrozen;
    const history = await store.read('passenger', id);
    const successor: Delivery[] = history.events.map((event, i) => ({
      commit: { commandId: event.commandId, aggregateType: 'passenger', aggregateId: id, version: event.version, events: [event] },
      streamSequence: i + 1,
      deliveryCount: 1,
    }));
    await applyToAggregateViews(db, passengersProjection, successor, 0, token + 1);
    thaw();

    // Then: refused, it stood by and took the lease again (a newer token), and the view keeps the newest name.
    await eventually(async () => states.join(' '), (seen) => /active standby active$/.test(seen), 'fenced off, then active again', 20_000);
    await rename(id, 4);
    const view = await eventually(() => db.collection<PassengerView & { fence?: number }>('passengers').findOne({ _id: id }), (doc) => doc?.version === 5, 'the next rename applied under the new lease');
    expect(view).toMatchObject({ name: `${id} v5`, version: 5 });
    expect(view!.fence).toBeGreaterThan(token + 1);
    sampling = false;
    await sampler;
    expect(sampled.length).toBeGreaterThan(0);
    expect(sampled.every((version, i) => i === 0 || version >= sampled[i - 1]!), `sampled versions ${sampled.join(',')}`).toBe(true);
    expect(await db.collection(DEAD_LETTERS_COLLECTION).countDocuments()).toBe(0);
  });
});
