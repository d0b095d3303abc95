/**
 * The event store when NATS does not answer: with `timeoutMs`, a read or an append fails within
 * about that long with `EventLogUnavailableError`, saying whether the change may have been
 * applied. A nats-server of this file's own is stalled (SIGSTOP), never the run's shared one.
 */
import { startLocalServers, type LocalServers } from '@happyride/local-servers';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listeningPid, stallProcess } from '../../tests/support/server-process.ts';
import { bootstrapEventLog } from './bootstrap.ts';
import { EventLogUnavailableError } from './event-store.ts';
import { JetStreamEventStore } from './jetstream-event-store.ts';
import { connectNats, type Nats } from './nats.ts';

let servers: LocalServers;
let nats: Nats;
let pid: number;
beforeAll(async () => {
  servers = await startLocalServers({ env: { MONGODB_URL: 'mongodb://unused.invalid/' }, log: () => {} });
  nats = await connectNats(servers.natsUrl, 'eventstore-unavailable');
  await bootstrapEventLog(nats.jsm, []);
  pid = listeningPid(servers.natsUrl);
});
afterEach(() => process.kill(pid, 'SIGCONT'));
afterAll(async () => {
  await nats?.close();
  await servers?.stop();
});

const registered = (passengerId: string) => [{ type: 'PassengerRegistered' as const, data: { passengerId, name: 'Ada' } }];
const meta = () => ({ commandId: randomUUID(), correlationId: randomUUID(), now: new Date().toISOString() });

describe('the JetStream event store when NATS stalls', () => {
  it('given the aggregate was read, when NATS stalls before the append, then the append fails within its timeout with the outcome unknown', async () => {
    const store = new JetStreamEventStore(nats.js, nats.jsm, { timeoutMs: 500 });
    const id = `p-${randomUUID().slice(0, 8)}`;
    await store.read('passenger', id); // the head is known: the append goes straight to the publish

    await stallProcess(pid);
    const started = performance.now();
    const failure = await store.append('passenger', id, registered(id), 0, meta()).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(EventLogUnavailableError);
    expect(failure).toMatchObject({ operation: 'append', outcomeUnknown: true });
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('given NATS stalls, when an aggregate is read, then the read fails within its timeout and nothing was sent', async () => {
    const store = new JetStreamEventStore(nats.js, nats.jsm, { timeoutMs: 500 });
    await stallProcess(pid);
    const failure = await store.read('passenger', `p-${randomUUID().slice(0, 8)}`).catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: 'EventLogUnavailableError', operation: 'read', outcomeUnknown: false });
  });

  it('given NATS answers again, then the store appends as before', async () => {
    const store = new JetStreamEventStore(nats.js, nats.jsm, { timeoutMs: 2_000 });
    const id = `p-${randomUUID().slice(0, 8)}`;
    await expect(store.append('passenger', id, registered(id), 0, meta())).resolves.toEqual({ version: 1, duplicate: false });
  });
});
