/**
 * Only poison is parked, in a real projector process: a message that is not a commit and a
 * commit the projection cannot apply (an event type it does not know), published to the real
 * event stream, land in the dead letters (the admin's `deadLetters` query), while the commits
 * after them, of other aggregates, are still projected.
 */
import { aggregateSubject, connectNats, type Nats } from '@happyride/eventstore';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { startTestSystem } from '../support/system.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;

beforeAll(async () => {
  // Parked after 3 failed attempts (1 + 2 s of backoff); no saga worker: only the projector reads passengers.
  system = await startTestSystem({ MAX_DELIVERIES: '3', MONGODB_DATABASE: `e2e_poison_${randomUUID().slice(0, 8)}` }, { without: ['saga-worker'] });
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-poison-events');
});
afterAll(async () => {
  await nats?.close();
  await system?.stop();
});

type Letter = { consumer: string; aggregateId: string; reason: string; error: string; attempts: number; eventTypes: string[] };
const DEAD_LETTERS = 'query { deadLetters(first: 50) { consumer aggregateId reason error attempts eventTypes } }';

describe('poison events published to the real stream, read by the real projector', () => {
  it('given a message that is not a commit and a commit with an unknown event type, then both are parked as dead letters of the passengers projection, and a passenger registered after them is projected', async () => {
    const garbled = `poison-${randomUUID().slice(0, 8)}`;
    const unknown = `poison-${randomUUID().slice(0, 8)}`;
    const now = new Date().toISOString();
    // A message that is not JSON, then a valid envelope whose event no projection knows.
    await nats.js.publish(aggregateSubject('passenger', garbled), '{"commandId": "half a commit');
    const envelope = { eventId: randomUUID(), aggregateType: 'passenger', aggregateId: unknown, version: 1, occurredAt: now, commandId: `cmd-${unknown}`, correlationId: `corr-${unknown}`, causationId: `cmd-${unknown}`, schemaVersion: 1 };
    await nats.js.publish(aggregateSubject('passenger', unknown), JSON.stringify({ commandId: `cmd-${unknown}`, aggregateType: 'passenger', aggregateId: unknown, version: 1, events: [{ ...envelope, type: 'PassengerTeleported', data: {} }] }));

    // After both, in the stream: a passenger registers through the gateway.
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    expect((await gql('mutation { registerPassenger(input: { name: "After the poison" }) { id } }', { token })).errors).toBeUndefined();

    // Then that passenger is projected …
    await eventually(
      () => gql<{ passenger: { name: string } | null }>('query ($id: ID!) { passenger(id: $id) { name } }', { token, variables: { id } }),
      (response) => response.data?.passenger?.name === 'After the poison',
      { timeoutMs: 30_000, what: 'the passenger registered after the poison, projected' },
    );
    // … and both poison messages are parked by the passengers projection, each as it failed.
    const admin = await tokenFor('admin', 'ops');
    const letters = await eventually(
      async () =>
        ((await gql<{ deadLetters: Letter[] }>(DEAD_LETTERS, { token: admin })).data?.deadLetters ?? []).filter(
          (letter) => [garbled, unknown].includes(letter.aggregateId) && letter.consumer.startsWith('projection-passengers'),
        ),
      (found) => found.length === 2,
      { timeoutMs: 30_000, what: 'two dead letters' },
    );
    const byId = Object.fromEntries(letters.map((letter) => [letter.aggregateId, letter]));
    expect(byId[garbled]).toMatchObject({ reason: 'FAILED', attempts: 1, error: expect.stringMatching(/^not a valid commit/) });
    expect(byId[unknown]).toMatchObject({ reason: 'FAILED', attempts: 3, eventTypes: ['PassengerTeleported'] });
  }, 120_000);
});
