import { passengerDecider, type PassengerCommand } from '@happyride/domain';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { CommandConflictError, commandHandler } from './command-handler.ts';
import type { EventStore } from './event-store.ts';
import { InMemoryEventStore } from './in-memory.ts';

const now = '2026-11-23T10:00:00.000Z';
const actor = { id: 'p1', role: 'passenger' } as const;
const rename = (name: string): PassengerCommand => ({
  type: 'UpdatePassengerDetails',
  data: { passengerId: 'p1', name },
  metadata: { commandId: randomUUID(), actor, now },
});

/** A store on which another writer renames p1 right after each of the first `times` reads: every such read is stale by the append. */
function racedStore(store: InMemoryEventStore, times: number): EventStore {
  let raced = 0;
  return {
    append: store.append.bind(store),
    read: async (aggregateType, aggregateId) => {
      const history = await store.read(aggregateType, aggregateId);
      if (raced++ < times) {
        await store.append('passenger', 'p1', [{ type: 'PassengerDetailsUpdated', data: { passengerId: 'p1', name: `Rival ${raced}` } }], history.version, { commandId: randomUUID(), correlationId: 'rival', now });
      }
      return history;
    },
  };
}

async function given() {
  const store = new InMemoryEventStore();
  await store.append('passenger', 'p1', [{ type: 'PassengerRegistered', data: { passengerId: 'p1', name: 'Ada' } }], 0, { commandId: 'reg', correlationId: 'c', now });
  const delays: number[] = [];
  const options = { aggregateType: 'passenger' as const, decider: passengerDecider, delay: async (ms: number) => void delays.push(ms), random: () => 0.5 };
  return { store, delays, options };
}

describe('commandHandler', () => {
  it('given another writer moves the aggregate under the first two attempts, when a command is handled, then it is decided again after short growing waits and lands', async () => {
    const { store, delays, options } = await given();
    const passengers = commandHandler({ ...options, store: racedStore(store, 2) });

    const outcome = await passengers('p1', rename('Bea'), { correlationId: 'c1' });

    expect(outcome).toMatchObject({ version: 4, duplicate: false, state: { name: 'Bea' } });
    expect(delays).toEqual([5, 10]); // half (the jitter) of 10 ms, then of 20 ms
    expect((await store.read('passenger', 'p1')).events.at(-1)).toMatchObject({ data: { name: 'Bea' }, correlationId: 'c1' });
  });

  it('given the aggregate moves under every attempt, when a command is handled, then it gives up after maxAttempts with CommandConflictError (CONFLICT), waits capped', async () => {
    const { store, delays, options } = await given();
    const passengers = commandHandler({ ...options, store: racedStore(store, Infinity), retry: { maxAttempts: 6 } });

    const error = await passengers('p1', rename('Bea'), { correlationId: 'c1' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(CommandConflictError);
    expect(error).toMatchObject({ attempts: 6, cause: { name: 'ConcurrencyError', aggregateId: 'p1' } });
    expect(delays).toEqual([5, 10, 20, 40, 40]); // 80 ms at most per wait
    expect((await store.read('passenger', 'p1')).events.map((event) => event.data)).not.toContainEqual({ passengerId: 'p1', name: 'Bea' });
  });

  it('given the decider refuses the command, when it is handled, then the refusal is thrown at once, not retried', async () => {
    const { store, delays, options } = await given();
    const read = vi.spyOn(store, 'read');
    const passengers = commandHandler({ ...options, store });
    const registerAgain: PassengerCommand = { type: 'RegisterPassenger', data: { passengerId: 'p1', name: 'Ada' }, metadata: { commandId: randomUUID(), actor, now } };

    await expect(passengers('p1', registerAgain, { correlationId: 'c1' })).rejects.toMatchObject({ name: 'DomainError', kind: 'ILLEGAL_STATE' });
    expect(read).toHaveBeenCalledTimes(1);
    expect(delays).toEqual([]);
  });

  it('given a handled command, when it is sent again after later commands, then the outcome of its first handling is answered and nothing is appended', async () => {
    const { store, options } = await given();
    const passengers = commandHandler({ ...options, store });
    const first = rename('Bea');
    await passengers('p1', first, { correlationId: 'c1' });
    await passengers('p1', rename('Cy'), { correlationId: 'c2' });

    const again = await passengers('p1', first, { correlationId: 'c1' });

    expect(again).toEqual({ version: 2, duplicate: true, state: expect.objectContaining({ name: 'Bea' }) });
    expect((await store.read('passenger', 'p1')).version).toBe(3);
  });
});
