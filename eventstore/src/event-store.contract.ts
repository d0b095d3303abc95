import { passengerDecider, type CommandMetadata, type PassengerEvent } from '@happyride/domain';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { commandHandler } from './command-handler.ts';
import { ConcurrencyError, type EventStore } from './event-store.ts';

/**
 * The behaviour every `EventStore` adapter promises, run against each of them
 * (in memory in the unit tier, JetStream on a real nats-server in the integration tier).
 */
export function eventStoreContract(name: string, makeStore: () => EventStore) {
  const id = () => `p-${randomUUID().slice(0, 8)}`;
  const registered = (passengerId: string, name = 'Ada'): PassengerEvent => ({ type: 'PassengerRegistered', data: { passengerId, name } });
  const renamed = (passengerId: string, name: string): PassengerEvent => ({ type: 'PassengerDetailsUpdated', data: { passengerId, name } });
  const meta = (commandId = randomUUID()) => ({ commandId, correlationId: 'corr-1', now: '2026-11-23T10:00:00.000Z' });

  describe(`EventStore contract: ${name}`, () => {
    it('given a new aggregate, when events are appended at version 0, then they read back in order with envelopes', async () => {
      const store = makeStore();
      const p = id();
      const m = meta();
      const result = await store.append('passenger', p, [registered(p), renamed(p, 'Ada L.')], 0, m);
      expect(result).toEqual({ version: 2, duplicate: false });

      const history = await store.read('passenger', p);
      expect(history.version).toBe(2);
      expect(history.events.map((e) => [e.type, e.version])).toEqual([
        ['PassengerRegistered', 1],
        ['PassengerDetailsUpdated', 2],
      ]);
      expect(history.events[0]).toMatchObject({
        aggregateType: 'passenger',
        aggregateId: p,
        commandId: m.commandId,
        correlationId: 'corr-1',
        causationId: m.commandId,
        occurredAt: m.now,
        schemaVersion: 1,
        eventId: `${m.commandId}:0`,
      });
      expect(history.commits.has(m.commandId)).toBe(true);
    });

    it('given an unknown aggregate, when it is read, then it is empty at version 0', async () => {
      const history = await makeStore().read('passenger', id());
      expect(history).toMatchObject({ events: [], version: 0 });
    });

    it('given an aggregate at version 1, when appending with a stale expected version, then it is a concurrency error and nothing is written', async () => {
      const store = makeStore();
      const p = id();
      await store.append('passenger', p, [registered(p)], 0, meta());
      await store.append('passenger', p, [renamed(p, 'B')], 1, meta());

      await expect(store.append('passenger', p, [renamed(p, 'C')], 1, meta())).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(store.append('passenger', p, [registered(p)], 0, meta())).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await store.read('passenger', p)).version).toBe(2);
    });

    it('given an appended command, when the same command id is appended again, then it is a duplicate and nothing is written', async () => {
      const store = makeStore();
      const p = id();
      const m = meta();
      await store.append('passenger', p, [registered(p)], 0, m);

      const retry = await store.append('passenger', p, [registered(p)], 0, m);
      expect(retry).toEqual({ version: 1, duplicate: true });
      expect((await store.read('passenger', p)).events).toHaveLength(1);
    });

    it('given two aggregates, when both are appended, then their versions are independent', async () => {
      const store = makeStore();
      const [a, b] = [id(), id()];
      await store.append('passenger', a, [registered(a)], 0, meta());
      await store.append('passenger', a, [renamed(a, 'A2')], 1, meta());
      await store.append('passenger', b, [registered(b)], 0, meta());
      expect((await store.read('passenger', a)).version).toBe(2);
      expect((await store.read('passenger', b)).version).toBe(1);
    });

    it('given one aggregate, when ten writers append at the same expected version at once, then exactly one wins', async () => {
      const store = makeStore();
      const p = id();
      await store.append('passenger', p, [registered(p)], 0, meta());
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => makeStore().append('passenger', p, [renamed(p, `N${i}`)], 1, meta())),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConcurrencyError)).toHaveLength(9);
      expect((await store.read('passenger', p)).version).toBe(2);
    });

    it('given a registered passenger, when two renames race through the command handler, then both land in some order', async () => {
      const store = makeStore();
      const p = id();
      const actor = { id: p, role: 'passenger' } as const;
      const command = (name: string, commandId = randomUUID()) => ({
        type: 'UpdatePassengerDetails' as const,
        data: { passengerId: p, name },
        metadata: { commandId, actor, now: '2026-11-23T10:00:00.000Z' } satisfies CommandMetadata,
      });
      await store.append('passenger', p, [registered(p)], 0, meta());

      await Promise.all([
        commandHandler({ store: makeStore(), aggregateType: 'passenger', decider: passengerDecider })(p, command('First'), { correlationId: 'c' }),
        commandHandler({ store: makeStore(), aggregateType: 'passenger', decider: passengerDecider })(p, command('Second'), { correlationId: 'c' }),
      ]);
      const names = (await store.read('passenger', p)).events.slice(1).map((e) => (e.data as { name: string }).name);
      expect(names.sort()).toEqual(['First', 'Second']);
    });

    it('given a handled command, when the handler gets the same command again, then it answers duplicate and decides nothing', async () => {
      const store = makeStore();
      const p = id();
      const register = {
        type: 'RegisterPassenger' as const,
        data: { passengerId: p, name: 'Ada' },
        metadata: { commandId: randomUUID(), actor: { id: p, role: 'passenger' as const }, now: '2026-11-23T10:00:00.000Z' },
      };
      const passengers = commandHandler({ store, aggregateType: 'passenger', decider: passengerDecider });
      const first = await passengers(p, register, { correlationId: 'c' });
      const again = await passengers(p, register, { correlationId: 'c' });
      expect(first).toMatchObject({ version: 1, duplicate: false });
      expect(again).toMatchObject({ version: 1, duplicate: true, state: { status: 'registered', name: 'Ada' } });
    });
  });
}
