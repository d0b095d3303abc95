import { bootstrapEventLog, connectNats, consumeCommits, EVENTS_STREAM, ensureConsumer, JetStreamEventStore, type Delivery, type Nats } from '@happyride/eventstore';
import type { Db } from 'mongodb';
import { freePort } from '@happyride/local-servers/start-server';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, until } from '../../tests/support/eventually.ts';
import { DEAD_LETTERS_COLLECTION, MongoDeadLetterStore } from './dead-letter-store.ts';
import { classifyFailure, isTransientError } from './failure-kind.ts';
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

/** A TCP relay to the MongoDB-wire server that can be cut (listener closed, every connection dropped) and restored on the same port. */
async function relayTo(target: URL) {
  const sockets = new Set<Socket>();
  const port = await freePort();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  return {
    url: (() => {
      const url = new URL(target);
      url.host = `127.0.0.1:${port}`;
      return url.toString();
    })(),
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: listen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a transient failure on a real durable consumer (only poison is parked)', () => {
  it('given the MongoDB-wire server unreachable for many more attempts than maxDeliveries, when it comes back, then the commit is applied and nothing was parked', async () => {
    const consumer = `test-transient-${randomUUID().slice(0, 8)}`;
    await ensureConsumer(nats.jsm, { name: consumer, description: 'test', aggregateTypes: ['passenger'], startAt: 'new' });
    const id = `tr-${randomUUID().slice(0, 8)}`;
    // The projection writes through a relay that the test cuts: the driver's own errors, from a real connection.
    const relay = await relayTo(new URL(inject('mongoUrl')));
    const relayed = await connectMongo(relay.url, database, 'test-relayed', { timeoutMs: 300 });
    const views = relayed.db.collection<{ _id: string; applied: number[] }>('transient_views');
    const handle = async (batch: readonly Delivery[]) => {
      for (const { commit } of batch) {
        if (commit.aggregateId !== id) continue;
        await views.updateOne({ _id: id, applied: { $ne: commit.version } }, { $push: { applied: commit.version } }, { upsert: true });
      }
    };
    const failures: unknown[] = [];
    const store = new MongoDeadLetterStore(db);
    await store.ensureIndexes();
    const stop = new AbortController();
    const running = consumeCommits(nats.js, consumer, handle, {
      signal: stop.signal,
      retryDelayMs: 10,
      onError: (error) => failures.push(error),
      deadLetters: { store, maxDeliveries: 2, retryPollMs: 50, isTransient: isTransientError },
    });
    const events = new JetStreamEventStore(nats.js, nats.jsm);
    const append = (version: number) =>
      events.append('passenger', id, [{ type: 'PassengerRegistered', data: { passengerId: id, name: `v${version}` } }], version - 1, { commandId: randomUUID(), correlationId: `corr-${id}`, now: new Date().toISOString() });
    try {
      await append(1);
      await waitUntil(async () => (await db.collection('transient_views').findOne({ _id: id as never }))?.['applied']?.length === 1, 'version 1 applied');

      // when the server becomes unreachable and version 2 comes: it fails again and again (three times the limit)
      await relay.cut();
      await append(2);
      await until(() => failures.length >= 6, { timeoutMs: 60_000, what: 'six failed attempts' });

      // then each failure was the driver's own (transient by its class), and nothing is parked
      expect(failures.every((error) => classifyFailure(error) === 'transient'), failures.map(String).join('\n')).toBe(true);
      expect(await store.count(consumer)).toBe(0);

      // when the server is reachable again, then version 2 is applied, still with no dead letter
      await relay.restore();
      await waitUntil(async () => (await db.collection('transient_views').findOne({ _id: id as never }))?.['applied']?.length === 2, 'version 2 applied after the outage');
      expect(await store.count(consumer)).toBe(0);
    } finally {
      stop.abort();
      await running.catch(() => {});
      await relayed.close();
      await relay.close();
      await nats.jsm.consumers.delete(EVENTS_STREAM, consumer).catch(() => {});
    }
  }, 120_000);
});
