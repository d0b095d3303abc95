import { connectNats, consumerDefinitions, deleteConsumer, ensureConsumer, EVENTS_STREAM, type Nats } from '@happyride/eventstore';
import { generationConsumer } from '@happyride/platform';
import { connectMongo, readGeneration, type Mongo } from '@happyride/platform';
import { rebuildProjection } from '@happyride/projections';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { natsUrl } from '../support/own-event-log.ts';

const database = `e2e_rebuild_${randomUUID().slice(0, 8)}`;
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let mongo: Mongo;

beforeAll(async () => {
  system = await startTestSystem({ MONGODB_DATABASE: database, READ_MODEL_GENERATION_POLL_MS: '200' });
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-rebuild');
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-rebuild');
});
afterAll(async () => {
  await system?.stop();
  if (nats) {
    // The e2e systems share one NATS, each with a database of its own: put the catalogue's
    // trip-history consumer (retired by this system's projector) back as bootstrap makes it,
    // moved to the stream's head as a caught-up one would be, so the next test file's system
    // does not replay the whole stream; drop this database's generation-1 consumer.
    const definition = consumerDefinitions.tripHistoryProjection;
    await deleteConsumer(nats.jsm, generationConsumer(definition.name, 1));
    await ensureConsumer(nats.jsm, definition);
    const consumer = await nats.js.consumers.get(EVENTS_STREAM, definition.name);
    while ((await consumer.info()).num_pending > 0) {
      for await (const msg of await consumer.fetch({ max_messages: 1000, expires: 1000 })) msg.ack();
    }
    await nats.connection.flush();
  }
  await mongo?.close();
  await nats?.close();
});

const REGISTER_PASSENGER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id } }';
const REQUEST_TRIP = 'mutation ($start: PositionInput!, $end: PositionInput!) { requestTrip(input: { start: $start, end: $end }) { id } }';
const TRIP = 'query ($id: ID!) { trip(id: $id) { id state passengerId } }';
const start = { lng: 116.3975, lat: 39.9087 };
const end = { lng: 116.4066, lat: 39.8822 };

describe('projections:rebuild, through the gateway', () => {
  it('given a projected trip, when the trip history is rebuilt, then trip(id) answers throughout and new trips show up afterwards', { timeout: 180_000 }, async () => {
    // Given: a passenger's trip, visible through the gateway.
    const passengerId = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', passengerId);
    expect((await gql(REGISTER_PASSENGER, { token, variables: { name: 'Ada' } })).errors).toBeUndefined();
    const requestTrip = async (as = token) => {
      const response = await gql<{ requestTrip: { id: string } }>(REQUEST_TRIP, { token: as, variables: { start, end } });
      expect(response.errors).toBeUndefined();
      return response.data!.requestTrip.id;
    };
    const tripId = await requestTrip();
    const readTrip = (id: string, as = token) => gql<{ trip: { id: string } | null }>(TRIP, { token: as, variables: { id } });
    expect((await eventually(() => readTrip(tripId), (r) => r.data?.trip?.id === tripId)).data?.trip?.id).toBe(tripId);

    // When: the trip history is rebuilt while the trip is being read.
    let rebuilding = true;
    const answers: Array<string | null> = [];
    const reader = (async () => {
      while (rebuilding) {
        const response = await readTrip(tripId);
        answers.push(response.errors ? (response.errors[0]?.extensions?.code ?? 'ERROR') : (response.data?.trip?.id ?? null));
      }
    })();
    const result = await rebuildProjection(nats, mongo.db, 'trip-history', { takeoverTimeoutMs: 30_000 });
    rebuilding = false;
    await reader;

    // Then: every read found the trip, the new generation serves, and the projector feeds it.
    expect(result).toMatchObject({ from: 0, to: 1, takenOver: true });
    expect(await readGeneration(mongo.db, 'trip-history')).toBe(1);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer !== tripId)).toEqual([]);
    // Another passenger: the first may still have their trip active (one active trip per passenger).
    const laterToken = await tokenFor('passenger', `p-${randomUUID().slice(0, 8)}`);
    expect((await gql(REGISTER_PASSENGER, { token: laterToken, variables: { name: 'Bo' } })).errors).toBeUndefined();
    const later = await requestTrip(laterToken);
    expect((await eventually(() => readTrip(later, laterToken), (r) => r.data?.trip?.id === later)).data?.trip?.id).toBe(later);
    expect(await mongo.db.collection('trips__g1').countDocuments({ _id: { $in: [tripId, later] } as never })).toBe(2);
  });
});
