import { createTripDecider, type Actor } from '@happyride/domain';
import { InMemoryEventStore, InMemoryIdempotencyKeys, InMemoryTripSlots } from '@happyride/eventstore';
import { describe, expect, it } from 'vitest';
import { TripInternalCommands } from './internal-commands.ts';
import { resolvers, type TripCommandsContext } from './resolvers.ts';

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
  const ctx: TripCommandsContext = {
    actor,
    correlationId: 'c1',
    store,
    decider: createTripDecider({ baseFare: 5, perKm: 1 }),
    slots: new InMemoryTripSlots(),
    idempotency: new InMemoryIdempotencyKeys(),
    now,
  };
  return { ctx, store };
}

const { requestTrip } = resolvers.Mutation;

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

  it('given a created trip, when the internal commands confirm it twice with one command id, then it is confirmed once', async () => {
    const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
    const { id } = await requestTrip(undefined, { input: { start, end } }, ctx);
    const trips = new TripInternalCommands(store, now);

    const first = await trips.confirm(id, { commandId: `confirm-${id}`, correlationId: 'c2' });
    const retry = await trips.confirm(id, { commandId: `confirm-${id}`, correlationId: 'c2' });
    expect(first).toMatchObject({ version: 2, duplicate: false, state: { status: 'CONFIRMED' } });
    expect(retry).toMatchObject({ version: 2, duplicate: true });
    expect((await store.read('trip', id)).events.at(-1)).toMatchObject({ type: 'TripConfirmed', correlationId: 'c2' });
  });

  it('given a confirmed trip, when dispatch fails, then it is DISPATCH_FAILED', async () => {
    const { ctx, store } = await setup({ id: 'p1', role: 'passenger' });
    const { id } = await requestTrip(undefined, { input: { start, end } }, ctx);
    const trips = new TripInternalCommands(store, now);
    await trips.confirm(id, { commandId: 'a', correlationId: 'c' });
    const failed = await trips.failDispatch(id, 'NO_DRIVERS_AVAILABLE', { commandId: 'b', correlationId: 'c' });
    expect(failed.state).toMatchObject({ status: 'DISPATCH_FAILED', dispatchFailureReason: 'NO_DRIVERS_AVAILABLE' });
  });
});
