/**
 * The NATS users of the local servers (`eventstore/src/nats-permissions.ts`), on this file's real
 * nats-server, with the credentials the launcher gives each service: only the write side may
 * append to `events.>`, each service to its own aggregates; a query subgraph and the gateway
 * cannot, nor can the projector. Replies come to each service's own inbox, where no other may listen.
 */
import { randomUUID } from 'node:crypto';
import { bootstrapEventLog, connectNats, EVENTS_STREAM, JetStreamEventStore, tripUpdatedSubject, type Nats } from '@happyride/eventstore';
import { localNatsServiceUrl } from '@happyride/local-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNatsViolations, natsUrl } from '../support/own-event-log.ts';

let admin: Nats;
const opened: Nats[] = [];

/** A connection with `service`'s own user, as the launcher would give it (core NATS only: a query subgraph may not even ask JetStream for its account). */
async function connectAs(service: string): Promise<Nats> {
  const url = localNatsServiceUrl(natsUrl(), service);
  if (url === undefined) throw new Error(`no NATS user for ${service}: is NATS_URL the local servers' admin URL? (${natsUrl().replace(/:[^:@/]*@/, ':***@')})`);
  const nats = await connectNats(url, `permission-probe-${service}`, { coreOnly: true });
  opened.push(nats);
  return nats;
}

/** The stream's last message on `subject`, or null. */
async function lastOn(subject: string): Promise<string | null> {
  const message = await admin.jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject }).catch(() => null);
  return message?.string() ?? null;
}

beforeAll(async () => {
  expectNatsViolations();
  admin = await connectNats(natsUrl(), 'e2e-nats-permissions');
  await bootstrapEventLog(admin.jsm);
});
afterAll(async () => {
  for (const nats of opened) await nats.close();
  await admin?.close();
});

describe('NATS permissions of the local servers', () => {
  it.each(['trip-queries', 'profile-queries', 'gateway', 'projector'])(
    'given the credentials of %s, when it publishes a commit to events.passenger.<id>, then nats-server refuses it and the stream never holds it',
    async (service) => {
      const nats = await connectAs(service);
      const subject = `events.passenger.p-${randomUUID().slice(0, 8)}`;

      await expect(nats.js.publish(subject, '{"forged":true}', { timeout: 2_000 })).rejects.toThrow(/permissions violation/i);

      expect(await lastOn(subject)).toBeNull();
    },
  );

  it('given the credentials of passenger-commands, when it appends a passenger event, then the stream holds it; a trip commit of its own making is refused', async () => {
    const nats = await connectAs('passenger-commands');
    const store = new JetStreamEventStore(nats.js, nats.jsm, { timeoutMs: 2_000 });
    const passengerId = `p-${randomUUID().slice(0, 8)}`;

    const appended = await store.append('passenger', passengerId, [{ type: 'PassengerRegistered', data: { passengerId, name: 'Ada' } }], 0, {
      commandId: randomUUID(),
      correlationId: randomUUID(),
      now: new Date().toISOString(),
    });

    expect(appended).toEqual({ version: 1, duplicate: false });
    expect(await lastOn(`events.passenger.${passengerId}`)).toContain('PassengerRegistered');
    const tripSubject = `events.trip.t-${randomUUID().slice(0, 8)}`;
    await expect(nats.js.publish(tripSubject, '{"forged":true}', { timeout: 2_000 })).rejects.toThrow(/permissions violation/i);
    expect(await lastOn(tripSubject)).toBeNull();
  });

  it('given the credentials of the gateway, when the projector publishes a trip notice, then the gateway hears it; the gateway cannot publish one itself', async () => {
    const gateway = await connectAs('gateway');
    const projector = await connectAs('projector');
    const subject = tripUpdatedSubject(`t-${randomUUID().slice(0, 8)}`);
    const heard: string[] = [];
    const subscription = gateway.connection.subscribe(subject, { callback: (_error, message) => void heard.push(message.string()) });
    await gateway.connection.flush();

    gateway.connection.publish(subject, 'from the gateway');
    await gateway.connection.flush();
    projector.connection.publish(subject, 'from the projector');
    await projector.connection.flush();
    await gateway.connection.flush();

    await expect.poll(() => heard, { timeout: 5_000 }).toEqual(['from the projector']);
    subscription.unsubscribe();
  });

  it('given the credentials of the projector, when it asks JetStream, then the reply comes to its own inbox; the saga worker may not listen there, nor on the shared _INBOX.>', async () => {
    const projector = await connectAs('projector');
    const sagaWorker = await connectAs('saga-worker');

    const info = await projector.jsm.streams.info(EVENTS_STREAM);

    expect(info.config.name).toBe(EVENTS_STREAM);
    for (const subject of ['_INBOX_projector.>', '_INBOX.>']) {
      const eavesdrop = sagaWorker.connection.subscribe(subject);
      await sagaWorker.connection.flush().catch(() => undefined);
      expect(String(await eavesdrop.closed)).toMatch(/permissions violation/i);
    }
  });
});
