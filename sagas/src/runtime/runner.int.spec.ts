import type { EventEnvelope } from '@happyride/eventstore';
import { connectMongo, createLogger, type Mongo } from '@happyride/platform';
import type { Db } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { VirtualClock } from './clock.ts';
import { MongoSagaStore } from './mongo-saga-store.ts';
import { SagaRunner } from './runner.ts';
import type { DeadlineReached, Saga } from './saga.ts';

/** A toy saga: TripCreated → one Ping command and a WAKE deadline; TripConfirmed → a second Ping (`pong`); the deadline ends it. */
type ToyInput = EventEnvelope<'trip'> | DeadlineReached;
type ToyCommand = { type: 'Ping'; sagaId: string; commandId: string };
interface ToyState {
  started: boolean;
  woken: number;
}
const toy: Saga<ToyState, ToyInput, ToyCommand> = {
  name: 'toy',
  initialState: () => ({ started: false, woken: 0 }),
  startedBy: (input) => ('eventId' in input && input.type === 'TripCreated' ? { sagaId: `toy-${input.aggregateId}`, associations: [`trip:${input.aggregateId}`] } : null),
  associationsOf: (input) => ('eventId' in input ? [`trip:${input.aggregateId}`] : []),
  decide(input, state) {
    if (!('eventId' in input)) return { commands: [], state: { ...state, woken: state.woken + 1 }, ended: true };
    const sagaId = `toy-${input.aggregateId}`;
    if (input.type === 'TripConfirmed') return { commands: [{ type: 'Ping', sagaId, commandId: `${sagaId}:pong` }], state };
    if (input.type !== 'TripCreated' || state.started) return { commands: [], state };
    return { commands: [{ type: 'Ping', sagaId, commandId: `${sagaId}:ping` }], schedule: [{ name: 'WAKE', afterMs: 1_000 }], state: { ...state, started: true } };
  },
};

let mongo: Mongo;
let store: MongoSagaStore;
let db: Db;
const logger = createLogger('test', process.env.TEST_LOG ?? 'silent');

beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), 'admin', 'test');
});
/** A fresh database per test: deadlines left by one test must not fire in another. */
beforeEach(async () => {
  db = mongo.client.db(`test_saga_runner_${randomUUID().slice(0, 8)}`);
  store = new MongoSagaStore(db);
  await store.ensureIndexes();
});
afterEach(async () => {
  await db.dropDatabase().catch(() => {});
});
afterAll(async () => {
  await mongo.close();
});

const created = (tripId: string): ToyInput =>
  ({
    type: 'TripCreated',
    data: { tripId, passengerId: 'p1', start: { lng: 0, lat: 0 }, end: { lng: 1, lat: 1 }, distanceKm: 157.249, fare: 403.12, requestedAt: '2026-11-23T10:00:00.000Z' },
    eventId: `${tripId}-cmd:0`,
    aggregateType: 'trip',
    aggregateId: tripId,
    version: 1,
    occurredAt: '2026-11-23T10:00:00.000Z',
    commandId: `${tripId}-cmd`,
    correlationId: 'corr',
    causationId: `${tripId}-cmd`,
    schemaVersion: 1,
  }) as ToyInput;

/** The trip's next event, TripConfirmed, as the log would deliver it. */
const confirmedEvent = (tripId: string): ToyInput => ({ ...created(tripId), type: 'TripConfirmed', data: { tripId }, eventId: `${tripId}-confirm:0`, version: 2, commandId: `${tripId}-confirm` }) as ToyInput;

function toyRunner(clock: VirtualClock, workerId: string, executed: string[], { before }: { before?: (commandId: string) => Promise<void> } = {}) {
  return new SagaRunner({
    saga: toy,
    store,
    clock,
    workerId,
    logger,
    execute: async (command) => {
      await before?.(command.commandId);
      executed.push(command.commandId);
      return null;
    },
  });
}

describe('saga runner on the MongoDB-wire server', () => {
  it('given an input already handled, when it is delivered again, then nothing is decided or sent again', async () => {
    const tripId = `t-${randomUUID().slice(0, 8)}`;
    const executed: string[] = [];
    const runner = toyRunner(new VirtualClock(), 'w1', executed);
    await runner.handle(created(tripId));
    await runner.handle(created(tripId));

    const doc = await store.load<ToyState, ToyCommand>(`toy-${tripId}`);
    expect(doc).toMatchObject({ handledInputs: [`event:${tripId}-cmd:0`], pending: [], pendingDeadlines: [], hasPending: false, correlationId: 'corr' });
    expect(executed).toEqual([`toy-${tripId}:ping`]);
  });

  it('given a due deadline, when two workers poll at once, then exactly one claims and fires it', async () => {
    const tripId = `t-${randomUUID().slice(0, 8)}`;
    const clock = new VirtualClock();
    const executed: string[] = [];
    await toyRunner(clock, 'w0', executed).handle(created(tripId));
    const deadline = await store.deadlines.findOne({ sagaId: `toy-${tripId}` });
    expect(deadline?.dueAt.toISOString()).toBe(new Date(clock.now().getTime() + 1_000).toISOString());

    const late = new VirtualClock(new Date(clock.now().getTime() + 1_500));
    const [a, b] = [toyRunner(late, 'wa', []), toyRunner(late, 'wb', [])];
    const fired = await Promise.all([a.pollDeadlines(), b.pollDeadlines()]);

    expect(fired[0]! + fired[1]!).toBe(1);
    expect(await store.load<ToyState, ToyCommand>(`toy-${tripId}`)).toMatchObject({ ended: true, state: { woken: 1 } });
    expect(await a.pollDeadlines()).toBe(0);
  });

  it('given eight writers deciding on the same version at once, then exactly one is committed (FerretDB v1 needs the transition insert)', async () => {
    const now = new Date();
    const base = { _id: 's1', saga: 'toy', state: { started: true, woken: 0 }, associations: [], handledInputs: [], ended: false, version: 1, pending: [], pendingDeadlines: [], hasPending: false, correlationId: 'c', startedAt: now, updatedAt: now };
    expect(await store.save(base, 0)).toBe(true);
    const saved = await Promise.all(Array.from({ length: 8 }, (_, i) => store.save({ ...base, state: { started: true, woken: i + 1 } }, 1)));
    expect(saved.filter(Boolean)).toHaveLength(1);
    const winner = saved.indexOf(true) + 1;
    expect(await store.load<ToyState, ToyCommand>('s1')).toMatchObject({ version: 2, state: { woken: winner } });
  });

  it('given worker A carrying out a command, when worker B decides another on the same instance, then B leaves A\'s alone (even sweeping) and carries out its own once A is done', async () => {
    const tripId = `t-${randomUUID().slice(0, 8)}`;
    const sagaId = `toy-${tripId}`;
    const clock = new VirtualClock();
    let started!: () => void;
    const aStarted = new Promise<void>((resolve) => (started = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const aExecuted: string[] = [];
    const bExecuted: string[] = [];
    const a = toyRunner(clock, 'wa', aExecuted, { before: async () => (started(), gate) });
    const b = toyRunner(clock, 'wb', bExecuted);

    const aHandling = a.handle(created(tripId));
    await aStarted; // A is carrying out ping
    await b.handle(confirmedEvent(tripId));
    await b.sweep();
    expect(bExecuted).toEqual([]);
    expect((await store.load<ToyState, ToyCommand>(sagaId))?.pending.map((command) => command.commandId)).toEqual([`${sagaId}:ping`, `${sagaId}:pong`]);
    expect(b.nextPollAt()).toBe(0); // B looks again on its next poll

    release();
    await aHandling;
    expect(aExecuted).toEqual([`${sagaId}:ping`]); // not B's pong
    await b.sweep();
    expect(bExecuted).toEqual([`${sagaId}:pong`]);
    expect(await store.load<ToyState, ToyCommand>(sagaId)).toMatchObject({ pending: [], hasPending: false });
  });

  it('given an outbox whose worker died, when two other workers sweep, then one of them takes it over, only once SAGA_OUTBOX_LEASE_MS passed without a write', async () => {
    const tripId = `t-${randomUUID().slice(0, 8)}`;
    const clock = new VirtualClock();
    let started!: () => void;
    const carryingOut = new Promise<void>((resolve) => (started = resolve));
    const dead = toyRunner(clock, 'dead', [], { before: () => (started(), new Promise<void>(() => {})) }); // never returns: as good as killed
    void dead.handle(created(tripId));
    await carryingOut;
    const executed: string[] = [];
    const [one, two] = [toyRunner(clock, 'one', executed), toyRunner(clock, 'two', executed)];

    clock.advance(29_999);
    expect(await one.sweep()).toBe(0);
    clock.advance(1);
    const swept = await Promise.all([one.sweep(), two.sweep()]);
    expect(swept[0]! + swept[1]!).toBe(1); // one of the two takes it over
    expect(executed).toEqual([`toy-${tripId}:ping`]);
  });

  it('given an outbox taken over from a dead worker, when another worker handles the event its command recorded and decides the next command, then that command is carried out once, by the worker that decided it', async () => {
    const tripId = `t-${randomUUID().slice(0, 8)}`;
    const sagaId = `toy-${tripId}`;
    const clock = new VirtualClock();
    let started!: () => void;
    const carryingOut = new Promise<void>((resolve) => (started = resolve));
    void toyRunner(clock, 'dead', [], { before: () => (started(), new Promise<void>(() => {})) }).handle(created(tripId));
    await carryingOut; // ping decided and held by a worker that never comes back
    const takerExecuted: string[] = [];
    const otherExecuted: string[] = [];
    const other = toyRunner(clock, 'other', otherExecuted);
    // While the taker carries ping out, its recorded event reaches the other worker, which decides pong.
    const taker = toyRunner(clock, 'taker', takerExecuted, { before: async (commandId) => void (commandId.endsWith(':ping') && (await other.handle(confirmedEvent(tripId)))) });

    clock.advance(30_000);
    expect(await taker.sweep()).toBe(1);
    expect(takerExecuted).toEqual([`${sagaId}:ping`]); // not the other worker's pong
    await other.sweep(); // its retry, once ping is out of the way
    expect(otherExecuted).toEqual([`${sagaId}:pong`]);
    expect(await store.load<ToyState, ToyCommand>(sagaId)).toMatchObject({ pending: [] });
  });

  it('given a deadline not yet due, when a worker polls, then it does not fire', async () => {
    const tripId = `t-${randomUUID().slice(0, 8)}`;
    const clock = new VirtualClock();
    const runner = toyRunner(clock, 'w1', []);
    await runner.handle(created(tripId));
    clock.advance(999);
    expect(await runner.pollDeadlines()).toBe(0);
    clock.advance(1);
    expect(await runner.pollDeadlines()).toBe(1);
  });
});
