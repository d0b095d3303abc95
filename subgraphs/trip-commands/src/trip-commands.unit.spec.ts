import { createTripDecider, TRIP_SLOT_APPEND_WITHIN_MS, type Actor } from '@happyride/domain';
import { InMemoryDriverLocationStore, InMemoryEventStore, InMemoryIdempotencyKeys, InMemoryTripSlots } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { resolvers, tripCommands, type TripCommandsContext } from './resolvers.ts';

const now = () => new Date('2026-11-23T10:00:00.000Z');
const start = { lng: 0, lat: 0 };
const end = { lng: 0, lat: 1 }; // 111.195 km

async function setup(actor: Actor, { registered = true } = {}) {
  const store = new InMemoryEventStore();
  if (registered && actor.role === 'passenger') {
    await store.append('passenger', actor.id, [{ type: 'PassengerRegistered', data: { passengerId: actor.id, name: 'Ada' } }], 0, {
      commandId: 'reg',
      correlationId: 'c',
      now: now().toISOString(),
    });
  }
  const decider = createTripDecider({ baseFare: 5, perKm: 1 });
  const ctx: TripCommandsContext = {
    actor,
    correlationId: 'c1',
    store,
    decider,
    trips: tripCommands(store, decider),
    slots: new InMemoryTripSlots(),
    locations: new InMemoryDriverLocationStore(),
    idempotency: new InMemoryIdempotencyKeys(),
    now,
  };
  return { ctx, store };
}

const { requestTrip } = resolvers.Mutation;

/** How the sagas send trip commands: as the system actor, with their own command id, through the trip's command handler. */
const bySaga = (commandId: string) => ({ commandId, actor: { id: 'system', role: 'system' } as const, now: now().toISOString() });
const rejectBySaga = (ctx: TripCommandsContext, tripId: string) =>
  ctx.trips(tripId, { type: 'RejectTrip', data: { tripId, reason: 'test' }, metadata: bySaga(`reject-${tripId}`) }, { correlationId: 'c' });

describe('trip-commands', () => {
  it('given a registered passenger and a pricing, when they request a trip, then it is CREATED at that price with a fresh id', async () => {
    const { ctx } = await setup({ id: 'p1', role: 'passenger' });
    const trip = await requestTrip(undefined, { input: { start, end } }, ctx);
    expect(trip).toMatchObject({ version: 1, state: 'CREATED', distanceKm: 111.195, fare: 116.2, passengerId: 'p1', driverId: null });
    expect(trip.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it('given an unregistered passenger, when they request a trip, then NOT_FOUND', async () => {
    const { ctx } = await setup({ id: 'p1', role: 'passenger' }, { registered: false });
    await expect(requestTrip(undefined, { input: { start, end } }, ctx)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
  });

  it('given an admin, when they request a trip, then FORBIDDEN by the decider', async () => {
    const { ctx } = await setup({ id: 'ops', role: 'admin' });
    await expect(requestTrip(undefined, { input: { start, end } }, ctx)).rejects.toMatchObject({ kind: 'FORBIDDEN' });
  });

  it('given a created trip, when a saga confirms it twice with one command id, then it is confirmed once', async () => {
    const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
    const { id } = await requestTrip(undefined, { input: { start, end } }, ctx);
    const confirm = () => ctx.trips(id, { type: 'ConfirmTrip', data: { tripId: id }, metadata: bySaga(`confirm-${id}`) }, { correlationId: 'c2' });

    const first = await confirm();
    const retry = await confirm();
    expect(first).toMatchObject({ version: 2, duplicate: false, state: { status: 'CONFIRMED' } });
    expect(retry).toMatchObject({ version: 2, duplicate: true });
    expect((await store.read('trip', id)).events.at(-1)).toMatchObject({ type: 'TripConfirmed', correlationId: 'c2' });
  });

  it('given a confirmed trip, when dispatch fails, then it is DISPATCH_FAILED', async () => {
    const { ctx } = await setup({ id: 'p1', role: 'passenger' });
    const { id } = await requestTrip(undefined, { input: { start, end } }, ctx);
    await ctx.trips(id, { type: 'ConfirmTrip', data: { tripId: id }, metadata: bySaga('a') }, { correlationId: 'c' });
    const failed = await ctx.trips(id, { type: 'FailDispatch', data: { tripId: id, reason: 'NO_DRIVERS_AVAILABLE' }, metadata: bySaga('b') }, { correlationId: 'c' });
    expect(failed.state).toMatchObject({ status: 'DISPATCH_FAILED', dispatchFailureReason: 'NO_DRIVERS_AVAILABLE' });
  });

  describe('one active trip per passenger', () => {
    it('given two requests of one passenger racing, when both run at once, then exactly one trip is created and the other is refused', async () => {
      const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
      const results = await Promise.allSettled([requestTrip(undefined, { input: { start, end } }, ctx), requestTrip(undefined, { input: { start, end } }, ctx)]);
      const created = results.filter((result) => result.status === 'fulfilled');
      expect(created).toHaveLength(1);
      expect(results.find((result) => result.status === 'rejected')).toMatchObject({ reason: { kind: 'ILLEGAL_STATE' } });
      expect(await store.read('trip', created[0]?.status === 'fulfilled' ? created[0].value.id : '')).toMatchObject({ version: 1 });
    });

    it('given an active trip, when the passenger requests another, then it is refused naming the active trip', async () => {
      const { ctx } = await setup({ id: 'p1', role: 'passenger' });
      const { id } = await requestTrip(undefined, { input: { start, end } }, ctx);
      await expect(requestTrip(undefined, { input: { start, end } }, ctx)).rejects.toMatchObject({ kind: 'ILLEGAL_STATE', message: expect.stringContaining(`active trip ${id} (CREATED)`) });
    });

    it('given the active trip was rejected, when the passenger requests another, then it is created', async () => {
      const { ctx } = await setup({ id: 'p1', role: 'passenger' });
      const first = await requestTrip(undefined, { input: { start, end } }, ctx);
      await rejectBySaga(ctx, first.id);
      const second = await requestTrip(undefined, { input: { start, end } }, ctx);
      expect(second).toMatchObject({ state: 'CREATED' });
      expect(second.id).not.toBe(first.id);
    });

    it('given an invalid request, when it is refused, then the slot stays free for the next request', async () => {
      const { ctx } = await setup({ id: 'p1', role: 'passenger' });
      await expect(requestTrip(undefined, { input: { start, end: start } }, ctx)).rejects.toMatchObject({ kind: 'INVALID_INPUT' });
      await expect(requestTrip(undefined, { input: { start, end } }, ctx)).resolves.toMatchObject({ state: 'CREATED' });
    });
  });

  describe('Idempotency-Key', () => {
    it('given a trip requested with a key, when the same request is retried with the key, then the same trip is answered and one is in the log', async () => {
      const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
      const keyed = { ...ctx, idempotencyKey: 'key-1' };
      const first = await requestTrip(undefined, { input: { start, end } }, keyed);
      const retry = await requestTrip(undefined, { input: { start, end } }, keyed);
      expect(retry).toEqual(first);
      expect((await store.read('trip', first.id)).events.map((event) => event.type)).toEqual(['TripCreated']);
    });

    it('given the process died after the slot was taken and before the trip was appended, when the request is retried with its key, then the trip is appended once', async () => {
      const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
      const keyed = { ...ctx, idempotencyKey: 'key-1' };
      // Given: the first attempt's claim and slot are written, its trip append never happens.
      const dyingStore = { read: store.read.bind(store), append: () => Promise.reject(new Error('killed')) };
      const dying = { ...keyed, store: dyingStore, trips: tripCommands(dyingStore, ctx.decider) };
      await expect(requestTrip(undefined, { input: { start, end } }, dying)).rejects.toThrow('killed');
      expect(await ctx.slots.get('p1')).not.toBeNull();

      const retry = await requestTrip(undefined, { input: { start, end } }, keyed);

      expect((await ctx.slots.get('p1'))?.slot.tripId).toBe(retry.id);
      expect((await store.read('trip', retry.id)).events).toHaveLength(1);
      await expect(requestTrip(undefined, { input: { start, end } }, ctx)).rejects.toMatchObject({ kind: 'ILLEGAL_STATE' });
    });

    it('given a request that stalls after taking its slot past the append window, when it resumes, then it appends nothing, and its retry appends the trip once', async () => {
      const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
      let clock = now().getTime();
      const slots = ctx.slots;
      const stalling = {
        ...ctx,
        idempotencyKey: 'key-1',
        now: () => new Date(clock),
        slots: { get: slots.get.bind(slots), swap: async (...args: Parameters<typeof slots.swap>) => {
          const won = await slots.swap(...args);
          clock += TRIP_SLOT_APPEND_WITHIN_MS + 1; // the stall, right after the slot was written
          return won;
        } },
      };
      await expect(requestTrip(undefined, { input: { start, end } }, stalling)).rejects.toMatchObject({ extensions: { code: 'CONFLICT' }, message: expect.stringMatching(/took too long/) });
      const tripId = (await slots.get('p1'))?.slot.tripId ?? '';
      expect((await store.read('trip', tripId)).version).toBe(0);

      const retry = await requestTrip(undefined, { input: { start, end } }, { ...ctx, idempotencyKey: 'key-1', now: () => new Date(clock) });
      expect(retry.id).toBe(tripId);
      expect((await store.read('trip', tripId)).version).toBe(1);
    });

    it('given a keyed trip appended but its outcome never recorded, then ended and followed by another trip, when the key is retried, then the first trip is answered', async () => {
      const { ctx } = await setup({ id: 'p1', role: 'passenger' });
      const forgetful = { ...ctx, idempotencyKey: 'key-1', idempotency: { claim: ctx.idempotency.claim.bind(ctx.idempotency), settle: () => Promise.reject(new Error('killed')) } };
      await expect(requestTrip(undefined, { input: { start, end } }, forgetful)).rejects.toThrow('killed');
      const first = (await ctx.slots.get('p1'))?.slot.tripId ?? '';
      await rejectBySaga(ctx, first);
      await requestTrip(undefined, { input: { start, end } }, ctx);

      const retry = await requestTrip(undefined, { input: { start, end } }, { ...ctx, idempotencyKey: 'key-1' });

      expect(retry).toMatchObject({ id: first, version: 1, state: 'CREATED' });
    });

    it('given two attempts with one key running at once (the first reply was lost), when both finish, then both answer the same trip and one is in the log', async () => {
      const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
      const keyed = { ...ctx, idempotencyKey: 'key-1' };
      const [a, b] = await Promise.all([requestTrip(undefined, { input: { start, end } }, keyed), requestTrip(undefined, { input: { start, end } }, keyed)]);
      expect(a).toEqual(b);
      expect((await store.read('trip', a.id)).version).toBe(1);
    });
  });
});

