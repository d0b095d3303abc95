/**
 * The reads that repeat (on every request, every batch or every poll) are answered from an
 * index on the embedded FerretDB, not by reading and decoding a whole collection: each is run
 * through the real code, the `find` it sends is captured (command monitoring) and explained.
 * FerretDB v1.24 (SQLite, with local-servers/src/ferretdb-patches.ts) pushes down only filters
 * on `_id` and filters of one top-level field compared with strings; sorts and limits are done
 * in FerretDB's memory over what the pushed-down filter returned.
 */
import { MongoDeadLetterStore, readGeneration, swapGeneration } from '@happyride/platform';
import { prepareTripHistory, TRIPS } from '@happyride/projections';
import { MongoSagaStore, type SagaInstanceDocument } from '@happyride/sagas';
import { MongoClient, type Db, type Document } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';

interface SentFind {
  collection: string;
  filter: Document;
}

let client: MongoClient;
let db: Db;
let sent: SentFind[] = [];

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'), { monitorCommands: true });
  client.on('commandStarted', (event) => {
    if (event.commandName === 'find') sent.push({ collection: String(event.command['find']), filter: (event.command['filter'] ?? {}) as Document });
  });
  db = client.db(`index_backed_${randomUUID().slice(0, 8)}`);
});
afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});
beforeEach(() => {
  sent = [];
});

/** SQLite's plan for a find, as FerretDB's `explain` reports it. */
async function planOf({ collection, filter }: SentFind): Promise<string> {
  const explained = await db.command({ explain: { find: collection, filter } });
  return (explained['queryPlanner'] as { Plan: string[] }).Plan.join('\n');
}

/** Every `find` sent while `read` ran searched an index (and at least one was sent). */
async function expectIndexBacked(read: () => Promise<unknown>): Promise<SentFind[]> {
  sent = [];
  await read();
  const finds = [...sent];
  expect(finds.length).toBeGreaterThan(0);
  for (const find of finds) {
    const plan = await planOf(find);
    expect(plan, `${find.collection} ${JSON.stringify(find.filter)}`).toMatch(/USING (COVERING )?INDEX/);
    expect(plan, `${find.collection} ${JSON.stringify(find.filter)}`).not.toMatch(/\bSCAN\b/);
  }
  return finds;
}

const instance = (saga: string, i: number, { ended, pending }: { ended: boolean; pending: boolean }): SagaInstanceDocument => ({
  _id: `${saga}-t${i}`,
  saga,
  state: {},
  associations: [`trip:t${i}`],
  handledInputs: [],
  ended,
  version: 0,
  pending: [],
  pendingDeadlines: pending ? [{ op: 'cancel', name: 'x' }] : [],
  hasPending: pending,
  correlationId: 'spec',
  startedAt: new Date(0),
  updatedAt: new Date(0),
});

describe('given the saga store with a history of ended instances and fired deadlines', () => {
  let store: MongoSagaStore;
  beforeAll(async () => {
    store = new MongoSagaStore(db);
    await store.ensureIndexes();
    for (let i = 0; i < 60; i++) {
      const running = i >= 55;
      await store.save(instance('dispatch', i, { ended: !running, pending: i === 58 }), 0);
      await store.scheduleDeadline('dispatch', `dispatch-t${i}`, 'check-1', new Date(1_000 * i));
      if (!running) await store.markFired(`dispatch-t${i}:check-1`, 'spec', new Date());
    }
  });

  it('when an instance is loaded, then its document and next transition are found by _id', async () => {
    await expectIndexBacked(() => store.load('dispatch-t3'));
  });

  it('when the running instances of an association are looked up (every event), then the index on liveKeys answers, with only running ones', async () => {
    let found: string[] = [];
    await expectIndexBacked(async () => (found = await store.findLive('dispatch', ['trip:t3', 'trip:t57'])));
    expect(found).toEqual(['dispatch-t57']);
  });

  it('when the sweeper polls for unfinished outboxes, then the index on pendingOf answers', async () => {
    let found: string[] = [];
    await expectIndexBacked(async () => (found = await store.withPending('dispatch')));
    expect(found).toEqual(['dispatch-t58']);
  });

  it('when a filter of two fields is explained (the old sweep), then SQLite scans: what these checks tell apart', async () => {
    const plan = await planOf({ collection: 'saga_instances', filter: { saga: 'dispatch', hasPending: true } });
    expect(plan).toMatch(/\bSCAN\b/);
  });

  it('when the deadline poll reads what is armed and due, then the index on armedOf answers, with fired ones left out', async () => {
    let due: string[] = [];
    await expectIndexBacked(async () => (due = (await store.dueDeadlines('dispatch', new Date(56_500))).map((deadline) => deadline._id)));
    expect(due).toEqual(['dispatch-t55:check-1', 'dispatch-t56:check-1']);
  });
});

describe('given read models and their generation pointers', () => {
  it('when a generation pointer is read (projectors poll it, readers cache it), then it is found by _id', async () => {
    await swapGeneration(db, 'trip-history', 1);
    await expectIndexBacked(async () => expect(await readGeneration(db, 'trip-history')).toBe(1));
  });

  it("when a person's trips are read (a page's filter, a rename in the projector), then the trips index on that field answers", async () => {
    await prepareTripHistory(db);
    const trips = db.collection<{ _id: string } & Document>(TRIPS);
    await trips.insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: `t${i}`, passengerId: `p${i % 8}`, driverId: `d${i % 5}`, createdAt: new Date(i).toISOString() })));
    for (const filter of [{ passengerId: 'p1' }, { driverId: 'd2' }, { passengerId: { $in: ['p1', 'p2'] } }]) {
      await expectIndexBacked(() => trips.find(filter).sort({ createdAt: -1, _id: -1 }).limit(11).toArray());
    }
    await expectIndexBacked(() => trips.find({ _id: { $in: ['t1', 't2'] } }).toArray());
  });

  it("when a driver's dispatch offers are read (myDispatchOffers), then the offers index on driverId answers", async () => {
    const offers = db.collection<{ _id: string } & Document>('dispatch_offers');
    await offers.createIndex({ driverId: 1, status: 1 });
    await offers.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `t${i}:d${i % 3}`, tripId: `t${i}`, driverId: `d${i % 3}`, status: 'OPEN' })));
    await expectIndexBacked(() => offers.find({ driverId: 'd1' }).toArray());
  });
});

describe('given parked dead letters', () => {
  it('when a consumer polls for letters to retry (every 2 s), then the index on consumer answers and only requested ones come back', async () => {
    const store = new MongoDeadLetterStore(db);
    await store.ensureIndexes();
    const letter = (consumer: string, i: number) => ({
      _id: `${consumer}:${i}`,
      consumer,
      key: `trip.t${i}`,
      streamSequence: i,
      reason: 'failed' as const,
      error: 'boom',
      attempts: 1,
      parkedAt: new Date(0),
      retryRequestedAt: null,
      commit: { commandId: 'c', aggregateType: 'trip' as const, aggregateId: `t${i}`, version: 1, events: [] },
    });
    await store.park([...Array.from({ length: 20 }, (_, i) => letter('projection-trips', i)), letter('saga-dispatch', 99)]);
    await store.requestRetry('saga-dispatch');
    let keys: string[] = [];
    await expectIndexBacked(async () => (keys = await store.keysToRetry('saga-dispatch')));
    expect(keys).toEqual(['trip.t99']);
    expect(await store.keysToRetry('projection-trips')).toEqual([]);
  });
});
