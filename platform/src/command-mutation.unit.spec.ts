import { passengerDecider, validId, type PassengerCommand, type PassengerState } from '@happyride/domain';
import { commandHandler, InMemoryEventStore, InMemoryIdempotencyKeys, type CommandHandler } from '@happyride/eventstore';
import { describe, expect, it, vi } from 'vitest';
import { commandMutation } from './command-mutation.ts';
import type { CommandContext } from './command-subgraph.ts';

type Context = CommandContext<{ passengers: CommandHandler<PassengerCommand, PassengerState> }>;

const now = new Date('2026-11-23T10:00:00.000Z');
const execute = commandMutation({
  handler: (ctx: Context) => ctx.passengers,
  aggregateId: (data: PassengerCommand['data']) => validId(data.passengerId, 'passengerId'),
  payload: (id, { state, version }) => ({ id, version, status: state.status }),
});

function given(extra: Partial<Context> = {}) {
  const store = new InMemoryEventStore();
  const append = vi.spyOn(store, 'append');
  const ctx: Context = {
    actor: { id: 'p1', role: 'passenger' },
    correlationId: 'corr-1',
    store,
    passengers: commandHandler({ store, aggregateType: 'passenger', decider: passengerDecider }),
    now: () => now,
    idempotency: new InMemoryIdempotencyKeys(),
    ...extra,
  };
  return { ctx, store, append };
}

describe('commandMutation', () => {
  it('given a traced request, when a mutation runs, then its command is the caller\'s at the clock, and the append carries the correlation id and trace context', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const { ctx, store, append } = given({ traceContext: { traceparent } });

    const payload = await execute('registerPassenger', { name: 'Ada' }, 'RegisterPassenger', { passengerId: 'p1', name: 'Ada' }, ctx);

    expect(payload).toEqual({ id: 'p1', version: 1, status: 'registered' });
    expect(append.mock.calls[0]?.[4]).toMatchObject({ correlationId: 'corr-1', traceparent, now: now.toISOString() });
    expect(store.all[0]?.events[0]).toMatchObject({ type: 'PassengerRegistered', correlationId: 'corr-1', occurredAt: now.toISOString() });
  });

  it('given an untraced request, when a mutation runs, then the append has no trace context', async () => {
    const { ctx, append } = given();
    await execute('registerPassenger', { name: 'Ada' }, 'RegisterPassenger', { passengerId: 'p1', name: 'Ada' }, ctx);
    expect(append.mock.calls[0]?.[4]).not.toHaveProperty('traceparent');
  });

  it('given an aggregate id that is not subject-safe, when a mutation runs, then BAD_USER_INPUT before anything is read', async () => {
    const { ctx, store } = given();
    const read = vi.spyOn(store, 'read');
    await expect(execute('banPassenger', { passengerId: 'p.*' }, 'BanPassenger', { passengerId: 'p.*' }, ctx)).rejects.toMatchObject({ kind: 'INVALID_INPUT' });
    expect(read).not.toHaveBeenCalled();
  });

  it('given an Idempotency-Key, when the mutation is retried with it, then the first payload is answered and one command is in the log', async () => {
    const { ctx, store } = given({ idempotencyKey: 'key-1' });
    const first = await execute('registerPassenger', { name: 'Ada' }, 'RegisterPassenger', { passengerId: 'p1', name: 'Ada' }, ctx);
    const retry = await execute('registerPassenger', { name: 'Ada' }, 'RegisterPassenger', { passengerId: 'p1', name: 'Ada' }, ctx);
    expect(retry).toEqual(first);
    expect(store.all).toHaveLength(1);
  });
});
