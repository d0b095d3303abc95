/**
 * The reads that repeat (on every request, every batch or every poll) are answered from an
 * index on the embedded FerretDB, not by reading and decoding a whole collection: each is run
 * through the real code, the `find` it sends is captured (command monitoring) and explained.
 * FerretDB v1.24 (SQLite, with local-servers/src/ferretdb-patches.ts) pushes down only filters
 * on `_id` and filters of one top-level field compared with strings; sorts and limits are done
 * in FerretDB's memory over what the pushed-down filter returned, except for a find with the
 * ordered-keys comment (trip-queries' pages and offers): its filter, sort and limit run in
 * SQLite, which walks an index in order and stops after the limit.
 */
import { connectNats, type Delivery } from '@happyride/eventstore';
import { MongoDeadLetterStore, readGeneration, sharedGenerationRead, swapGeneration, uncachedReads } from '@happyride/platform';
import { publishTripNotices } from '@happyride/projections/trips/trip-notices';
import { prepareTripHistory, TRIPS } from '@happyride/projections';
import { MongoSagaStore, type SagaInstanceDocument } from '@happyride/sagas';
import { resolvers } from '@happyride/subgraph-trip-queries/resolvers';
import type { Actor } from '@happyride/domain';
import { MongoClient, type Db, type Document } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';

interface SentFind {
  collection: string;
  filter: Document;
  sort?: Document;
  limit?: number;
  comment?: string;
}

let client: MongoClient;
let db: Db;
let sent: SentFind[] = [];

beforeAll(async () => {
  client = new MongoClient(inject('mongoUrl'), { monitorCommands: true });
  client.on('commandStarted', (event) => {
    if (event.commandName !== 'find') return;
    const { find, filter, sort, limit, comment } = event.command;
    sent.push({
      collection: String(find),
      filter: (filter ?? {}) as Document,
      ...(sort ? { sort: sort as Document } : {}),
      ...(typeof limit === 'number' ? { limit } : {}),
      ...(typeof comment === 'string' ? { comment } : {}),
    });
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
async function planOf(find: SentFind, on: Db = db): Promise<string> {
  return (await explain(find, on)).plan;
}

async function explain({ collection, ...find }: SentFind, on: Db = db) {
  const explained = await on.command({ explain: { find: collection, ...find } });
  const pushed = { filter: explained['filterPushdown'] === true, sort: explained['sortPushdown'] === true, limit: explained['limitPushdown'] === true };
  return { plan: (explained['queryPlanner'] as { Plan: string[] }).Plan.join('\n'), pushed };
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
    await expectIndexBacked(async () => expect(await sharedGenerationRead(db, 'trip-history', 0)).toBe(1));
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

  it('when the projector tells live subscribers which trips a batch touched (every batch), then each read is an index search and every touched trip is told once', async () => {
    await prepareTripHistory(db);
    const trips = db.collection<{ _id: string } & Document>(TRIPS);
    await trips.insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: `n${i}`, passengerId: `np${i % 8}`, driverId: `nd${i % 5}`, createdAt: new Date(i).toISOString(), version: i })));
    const delivery = (aggregateType: string, aggregateId: string, type: string) =>
      ({ commit: { aggregateType, aggregateId, commandId: 'c', version: 1, events: [{ type }] }, streamSequence: 1, deliveryCount: 1 }) as unknown as Delivery;
    const batch = [delivery('trip', 'n1', 'TripConfirmed'), delivery('passenger', 'np1', 'PassengerDetailsUpdated'), delivery('driver', 'nd2', 'DriverDetailsUpdated')];
    const nats = await connectNats(inject('natsUrl'), 'index-backed-reads', { coreOnly: true });
    try {
      const told: string[] = [];
      const subscription = nats.connection.subscribe('updates.trip.*', { callback: (_error, message) => void told.push(message.subject.slice('updates.trip.'.length)) });
      await nats.connection.flush();
      await expectIndexBacked(() => publishTripNotices(nats, db, batch));
      await nats.connection.flush();
      // n1 itself; np1's trips n1, n9, n17, …; nd2's trips n2, n7, n12, …: each once.
      const expected = Array.from({ length: 40 }, (_, i) => i).filter((i) => i === 1 || i % 8 === 1 || i % 5 === 2).map((i) => `n${i}`);
      await expect.poll(() => [...told].sort(), { timeout: 5_000 }).toEqual(expected.sort());
      subscription.unsubscribe();
    } finally {
      await nats.close();
    }
  });

  it("when a driver's open dispatch offers are read (myDispatchOffers), then the offers index answers filter, sort and limit, newest first", async () => {
    const offers = db.collection<{ _id: string } & Document>('dispatch_offers');
    await offers.createIndex({ driverId: 1, status: 1 });
    await offers.insertMany(
      Array.from({ length: 30 }, (_, i) => ({ _id: `t${i}:d${i % 3}`, tripId: `t${i}`, driverId: `d${i % 3}`, status: i % 2 ? 'OPEN' : 'EXPIRED', updatedAt: new Date(i % 7).toISOString() })),
    );
    const driver: Actor = { id: 'd1', role: 'driver' };
    let found: { _id: string }[] = [];
    const [find] = await expectIndexBacked(async () => (found = await resolvers.Query.myDispatchOffers({}, {}, { db, readModels, readCache: uncachedReads, actor: driver })));
    expect((await explain(find!)).pushed).toEqual({ filter: true, sort: true, limit: true });
    const expected = await offers.find({ driverId: 'd1', status: 'OPEN' }).sort({ updatedAt: -1, _id: -1 }).toArray();
    expect(found.map((offer) => offer._id)).toEqual(expected.map((offer) => offer._id));
    expect(found.length).toBe(5);
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

const readModels = { collection: async (base: string) => base };

describe('given a trip history with ties in creation time, several passengers and drivers, and trips not assigned yet', () => {
  let pages: Db;
  const stateOf = ['FINISHED', 'CANCELLED', 'STARTED', 'FINISHED', 'DISPATCHING'] as const;
  beforeAll(async () => {
    pages = client.db(`${db.databaseName}_pages`);
    await prepareTripHistory(pages);
    // Four trips per second, ids in an order of their own: the pages must break ties by id.
    await pages.collection<{ _id: string } & Document>(TRIPS).insertMany(
      Array.from({ length: 90 }, (_, i) => ({
        _id: `t${(i * 37) % 90}-${i % 4}`,
        passengerId: `p${i % 5}`,
        driverId: i % 5 === 4 ? null : `d${i % 3}`,
        state: stateOf[i % 5]!,
        createdAt: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 4) * 1_000).toISOString(),
      })),
    );
  });
  afterAll(() => pages?.dropDatabase());

  const actors: Record<string, Actor> = { admin: { id: 'ops', role: 'admin' }, p1: { id: 'p1', role: 'passenger' }, d2: { id: 'd2', role: 'driver' } };
  type PageCase = [string, Actor, { passengerId?: string; driverId?: string; state?: (typeof stateOf)[number] }];
  const cases: PageCase[] = [
    ['all trips', actors.admin!, {}],
    ['trips in one state', actors.admin!, { state: 'FINISHED' }],
    ["a passenger's trips", actors.p1!, {}],
    ["a driver's trips", actors.d2!, {}],
    ["a passenger's trips in one state", actors.p1!, { state: 'FINISHED' }],
  ];

  it.each(cases)('when the pages of %s are read to the end, then each is one index walk stopped at the limit, and together they are every match newest first', async (_, actor, args) => {
    const ctx = { db: pages, readModels, readCache: uncachedReads, actor };
    const ids: string[] = [];
    sent = [];
    for (let after: string | null = null, more = true; more; ) {
      const page: Awaited<ReturnType<typeof resolvers.Query.trips>> = await resolvers.Query.trips({}, { ...args, first: 7, after }, ctx);
      ids.push(...page.edges.map((edge) => edge.node.id));
      ({ hasNextPage: more, endCursor: after } = page.pageInfo);
    }
    const finds = [...sent];

    // Then: what FerretDB answers without the comment (its own filter, sort and limit), page by page.
    const scope = { ...args, ...(actor.role === 'passenger' ? { passengerId: actor.id } : actor.role === 'driver' ? { driverId: actor.id } : {}) };
    const expected = await pages.collection<{ _id: string } & Document>(TRIPS).find(scope).sort({ createdAt: -1, _id: -1 }).toArray();
    expect(ids).toEqual(expected.map((trip) => trip._id));
    expect(finds.length).toBe(Math.max(1, Math.ceil(expected.length / 7)));
    for (const find of finds) {
      const unpatched = await pages.collection(find.collection).find(find.filter).sort(find.sort!).limit(find.limit!).toArray();
      const patched = await pages.collection(find.collection).find(find.filter, { comment: find.comment! }).sort(find.sort!).limit(find.limit!).toArray();
      expect(patched).toEqual(unpatched);
      const { plan, pushed } = await explain(find, pages);
      expect(pushed, JSON.stringify(find.filter)).toEqual({ filter: true, sort: true, limit: true });
      expect(plan, JSON.stringify(find.filter)).toMatch(/USING (COVERING )?INDEX/);
      expect(plan, JSON.stringify(find.filter)).not.toMatch(/TEMP B-TREE|SCAN \S+\s*$/m);
    }
  });

  it('when the same page is asked without the comment, then FerretDB reads and sorts every match itself: what these checks tell apart', async () => {
    const { pushed } = await explain({ collection: TRIPS, filter: {}, sort: { createdAt: -1, _id: -1 }, limit: 8, comment: 'no promise' }, pages);
    expect(pushed).toEqual({ filter: false, sort: false, limit: false });
  });
});
