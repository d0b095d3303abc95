import { bootstrapEventLog, connectNats, consumeCommits, EVENTS_STREAM, ensureConsumer, JetStreamEventStore, type Delivery, type Nats } from '@happyride/eventstore';
import type { Db } from 'mongodb';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../../tests/support/eventually.ts';
import { DEAD_LETTERS_COLLECTION, MongoDeadLetterStore } from './dead-letter-store.ts';
import { connectMongo, type Mongo } from './mongo.ts';

const run = promisify(execFile);
let nats: Nats;
let mongo: Mongo;
let db: Db;
const database = `test_dead_letters_${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  nats = await connectNats(inject('natsUrl'), 'test-dead-letters');
  await bootstrapEventLog(nats.jsm, []);
  mongo = await connectMongo(inject('mongoUrl'), database, 'test');
  db = mongo.db;
});
afterAll(async () => {
  await db.dropDatabase().catch(() => {});
  await mongo.close();
  await nats.close();
});

/** Polls until `check` holds (a wait, not a timing assertion); fails after 30 s. */
const waitUntil = (check: () => Promise<boolean>, what: string) => eventually(check, Boolean, { what, timeoutMs: 30_000, intervalMs: 50 });

describe('poison events on a real durable consumer', () => {
  it('parks a commit after MAX deliveries, keeps other aggregates flowing, and re-applies it after a fix with the retry command', async () => {
    // given a toy projection (versions applied per passenger) on its own durable consumer, that cannot apply bad@2
    const consumer = `test-dead-letters-${randomUUID().slice(0, 8)}`;
    await ensureConsumer(nats.jsm, { name: consumer, description: 'test', aggregateTypes: ['passenger'], startAt: 'new' });
    const prefix = `dl-${randomUUID().slice(0, 8)}`;
    const bad = `${prefix}-bad`;
    const good = `${prefix}-good`;
    let broken = true;
    const views = db.collection<{ _id: string; applied: number[] }>('toy_views');
    const handle = async (batch: readonly Delivery[]) => {
      for (const { commit } of batch) {
        if (!commit.aggregateId.startsWith(prefix)) continue;
        if (broken && commit.aggregateId === bad && commit.version === 2) throw new Error('the projection cannot apply this event');
        await views.updateOne({ _id: commit.aggregateId, applied: { $ne: commit.version } }, { $push: { applied: commit.version } }, { upsert: true }).catch(() => {});
      }
    };
    const store = new MongoDeadLetterStore(db);
    await store.ensureIndexes();
    const stop = new AbortController();
    const running = consumeCommits(nats.js, consumer, handle, {
      signal: stop.signal,
      retryDelayMs: 10,
      deadLetters: { store, maxDeliveries: 3, retryPollMs: 50 },
    });

    // when bad@1, bad@2 (poison), good@1, bad@3, good@2 are appended
    const events = new JetStreamEventStore(nats.js, nats.jsm);
    const append = (id: string, version: number) =>
      events.append('passenger', id, [{ type: 'PassengerRegistered', data: { passengerId: id, name: `v${version}` } }], version - 1, {
        commandId: randomUUID(),
        correlationId: `corr-${id}-${version}`,
        now: new Date().toISOString(),
      });
    await append(bad, 1);
    await append(bad, 2);
    await append(good, 1);
    await append(bad, 3);
    await append(good, 2);

    // then good flows to version 2, bad@2 is parked after 3 attempts and bad@3 held behind it
    await waitUntil(async () => (await views.findOne({ _id: good }))?.applied.length === 2, 'good applied');
    await waitUntil(async () => (await store.count(consumer)) === 2, 'two dead letters');
    const letters = await store.list(consumer, 10);
    expect(letters.map((l) => [l.key, l.commit.version, l.reason])).toEqual([
      [`passenger:${bad}`, 2, 'failed'],
      [`passenger:${bad}`, 3, 'held'],
    ]);
    expect(letters[0]?.attempts).toBe(3);
    expect(letters[0]?.error).toContain('the projection cannot apply this event');
    expect((await views.findOne({ _id: bad }))?.applied).toEqual([1]);
    const info = await nats.jsm.consumers.info(EVENTS_STREAM, consumer);
    expect(info.num_ack_pending).toBe(0);

    // when the projection is fixed and the retry command runs
    broken = false;
    const { stdout } = await run('npx', ['tsx', 'scripts/dead-letters-retry.ts', '--consumer', consumer], {
      env: { ...process.env, MONGODB_URL: inject('mongoUrl'), MONGODB_DATABASE: database },
    });
    expect(stdout).toContain('retry requested for 2 dead letter(s)');

    // then bad@2 and bad@3 are applied in order, the letters are gone, and bad flows again
    await waitUntil(async () => (await db.collection(DEAD_LETTERS_COLLECTION).countDocuments({ consumer })) === 0, 'letters retried');
    expect((await views.findOne({ _id: bad }))?.applied).toEqual([1, 2, 3]);
    await append(bad, 4);
    await waitUntil(async () => (await views.findOne({ _id: bad }))?.applied.length === 4, 'bad@4 applied');

    stop.abort();
    await running;
    await nats.jsm.consumers.delete(EVENTS_STREAM, consumer);
  });
});
