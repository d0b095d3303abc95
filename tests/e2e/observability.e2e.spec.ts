import { aggregateSubject, connectNats, EVENTS_STREAM, HEADER, JetStreamEventStore, type Nats } from '@happyride/eventstore';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, subscriptionClient } from '../support/websocket.ts';
import { natsUrl } from '../support/own-event-log.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;

beforeAll(async () => {
  system = await startTestSystem();
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-observability');
});
afterAll(async () => {
  await nats?.close();
  await system?.stop();
});

const here = { lng: 116.3975, lat: 39.9087 };
const there = { lng: 116.4066, lat: 39.8822 };

/** A POST to the gateway with our own `x-correlation-id`. */
async function post(query: string, token: string, correlationId: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(system.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-correlation-id': correlationId },
    body: JSON.stringify({ query, variables }),
  });
  return { header: response.headers.get('x-correlation-id'), etag: response.headers.get('etag'), body: (await response.json()) as { data?: Record<string, { id: string }> } };
}

const logLines = (service: string, correlationId: string) =>
  readFileSync(system.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`${service} `) && line.includes(`"correlationId":"${correlationId}"`));

const scrape = async (service: string) => (await fetch(`${system.urls[service]}/metrics`)).text();

describe('observability through the running system', () => {
  it('given a request with x-correlation-id, then the same id is in the response, the events (envelope and NATS headers), and the projector and saga logs', async () => {
    // given a passenger
    const passengerId = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', passengerId);
    await gql('mutation { registerPassenger(input: { name: "Ada" }) { id } }', { token });
    // when they request a trip with their own correlation id
    const correlationId = `e2e-${randomUUID()}`;
    const requested = await post('mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', token, correlationId, { s: here, e: there });
    const tripId = requested.body.data!.requestTrip!.id;
    // then the gateway echoes it
    expect(requested.header).toBe(correlationId);
    // (and hashes no ETag of the answer: GraphQL clients make no conditional requests)
    expect(requested.etag).toBeNull();
    // and every event of the trip (the saga's confirmation too) carries it, in the envelope and the NATS headers
    const events = new JetStreamEventStore(nats.js, nats.jsm);
    const history = await eventually(() => events.read('trip', tripId), (h) => h.events.some((e) => e.type !== 'TripCreated'), 20_000);
    expect(history.events.length).toBeGreaterThan(1);
    for (const event of history.events) expect(event.correlationId).toBe(correlationId);
    const last = await nats.jsm.direct.getMessage(EVENTS_STREAM, { last_by_subj: aggregateSubject('trip', tripId) });
    expect(last?.header?.get(HEADER.correlationId)).toBe(correlationId);
    // and the projector's and the saga worker's logs name it for the events they applied
    await eventually(async () => logLines('projector', correlationId).length, (n) => n > 0, 20_000);
    await eventually(async () => logLines('saga-worker', correlationId).length, (n) => n > 0, 20_000);
    expect(logLines('projector', correlationId).some((line) => line.includes('commit projected'))).toBe(true);
    expect(logLines('saga-worker', correlationId).some((line) => line.includes('saga input'))).toBe(true);
  });

  it("given tracing off and a caller's traceparent, then the event it caused carries that trace context as it came; a malformed one goes nowhere", async () => {
    const register = async (traceparent: string) => {
      const passengerId = `p-${randomUUID().slice(0, 8)}`;
      const response = await fetch(system.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor('passenger', passengerId)}`, traceparent },
        body: JSON.stringify({ query: 'mutation { registerPassenger(input: { name: "Tia" }) { id } }' }),
      });
      expect(response.status).toBe(200);
      const registered = await nats.jsm.direct.getMessage(EVENTS_STREAM, { last_by_subj: aggregateSubject('passenger', passengerId) });
      return registered?.header?.get(HEADER.traceparent) ?? '';
    };
    const traceparent = `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-01`;
    expect(await register(traceparent)).toBe(traceparent);
    expect(await register('00-not-a-trace-01')).toBe('');
  });

  it('given trips and a live subscription, then /metrics of every process shows its figures', async () => {
    // given a passenger with a trip, following it over graphql-ws
    const passengerId = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', passengerId);
    await gql('mutation { registerPassenger(input: { name: "Bo" }) { id } }', { token });
    const requested = await gql<{ requestTrip: { id: string } }>('mutation ($s: PositionInput!, $e: PositionInput!) { requestTrip(input: { start: $s, end: $e }) { id } }', { token, variables: { s: here, e: there } });
    const tripId = requested.data!.requestTrip.id;
    await eventually(() => gql<{ trip: { id: string } | null }>('query ($t: ID!) { trip(id: $t) { id } }', { token, variables: { t: tripId } }), (r) => Boolean(r.data?.trip));
    const client = subscriptionClient(system.gatewayUrl, token);
    const follow = collect(client, 'subscription ($t: ID!) { tripUpdates(tripId: $t) { id state } }', { t: tripId });
    try {
      await follow.next(1);
      // when each process's /metrics is scraped
      const gateway = await scrape('gateway-metrics');
      const projector = await eventually(() => scrape('projector'), (text) => /projection_position\{[^}]*consumer="projection-trip-history"[^}]*\} [1-9]/.test(text));
      const sagaWorker = await eventually(() => scrape('saga-worker'), (text) => /saga_instances\{[^}]*saga="trip-creation"[^}]*\} [1-9]/.test(text));
      // then the gateway counts operations and the live subscription
      expect(gateway).toMatch(/graphql_operations_total\{[^}]*operation="anonymous"/);
      expect(gateway).toMatch(/graphql_operation_duration_seconds_bucket/);
      expect(gateway).toMatch(/graphql_subscriptions_active\{[^}]*\} [1-9]/);
      expect(gateway).toMatch(/graphql_ws_connections\{[^}]*\} [1-9]/);
      // the projector shows lag, position vs stream head, and dead letters per projection
      for (const consumer of ['projection-passengers', 'projection-drivers', 'projection-trip-history']) {
        expect(projector).toContain(`jetstream_consumer_pending{consumer="${consumer}"`);
        expect(projector).toContain(`jetstream_consumer_ack_pending{consumer="${consumer}"`);
        expect(projector).toContain(`projection_position{consumer="${consumer}"`);
        expect(projector).toMatch(new RegExp(`dead_lettered_events\\{consumer="${consumer}"[^}]*\\} 0`));
      }
      expect(projector).toMatch(/event_stream_head\{[^}]*\} [1-9]/);
      // the saga worker shows its instances by state and its dead letters
      expect(sagaWorker).toMatch(/saga_instances\{saga="trip-creation",state="ended"/);
      expect(sagaWorker).toMatch(/saga_instances_pending\{saga="trip-creation"/);
      expect(sagaWorker).toMatch(/dead_lettered_events\{consumer="saga-trip-creation"[^}]*\} 0/);
      // and every subgraph serves its operation figures
      for (const subgraph of ['passenger-commands', 'profile-queries', 'trip-commands', 'trip-queries']) {
        expect(await scrape(subgraph)).toContain('# TYPE graphql_operations_total counter');
      }
    } finally {
      follow.dispose();
      await client.dispose();
    }
  });

  it('given the admin query deadLetters, then admins get the parked commits (none here) and others FORBIDDEN', async () => {
    const query = 'query { deadLetters(first: 10) { id consumer aggregateId reason error attempts correlationId } }';
    const asAdmin = await gql<{ deadLetters: unknown[] }>(query, { token: await tokenFor('admin', 'ops') });
    expect(asAdmin.errors).toBeUndefined();
    expect(asAdmin.data?.deadLetters).toEqual([]);
    const asPassenger = await gql(query, { token: await tokenFor('passenger', 'p-nosy') });
    expect(codes(asPassenger)).toEqual(['FORBIDDEN']);
  });
});
