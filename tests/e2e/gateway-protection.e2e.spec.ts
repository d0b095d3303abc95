import { signToken } from '@happyride/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, eventually, graphqlClient } from '../support/graphql-client.ts';
import { ENTITY_HOP_COST } from '../../gateway/src/plugins/cost-model.ts';
import { startTestSystem } from '../support/system.ts';
import { collect, subscriptionClient } from '../support/websocket.ts';

const SECRET = 'e2e-production-secret-0123456789';
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let admin: string;

beforeAll(async () => {
  system = await startTestSystem({
    NODE_ENV: 'production',
    JWT_SECRET: SECRET,
    RATE_LIMIT_PER_MINUTE: '60',
    RATE_LIMIT_BURST: '30',
    MAX_BODY_BYTES: '20000',
    GRAPHQL_MAX_DEPTH: '4',
    GRAPHQL_MAX_TOKENS: '1500',
  });
  gql = graphqlClient(system.gatewayUrl);
  admin = await signToken({ id: 'ops', role: 'admin' }, SECRET);
});
afterAll(() => system?.stop());

describe('the gateway protects the graph (production settings)', () => {
  it('given a query deeper than GRAPHQL_MAX_DEPTH (4 here), then DEPTH_LIMIT_EXCEEDED; at the limit it runs', async () => {
    expect((await gql('{ myTrips { edges { node { id } } } }', { token: admin })).errors).toBeUndefined();
    const response = await gql('{ myTrips { edges { node { passenger { id } } } } }', { token: admin });
    expect(codes(response)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
    expect(response.errors?.[0]?.message).toMatch(/5 levels deep; the limit is 4/);
  });

  it('given 16 aliases, then ALIAS_LIMIT_EXCEEDED', async () => {
    const query = `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: tripStats { total }`).join(' ')} }`;
    const response = await gql(query, { token: admin });
    expect(codes(response)).toEqual(['ALIAS_LIMIT_EXCEEDED']);
    expect(response.status).toBe(400);
  });

  // Many tokens, few fields: a fragment spread is two tokens (graphql-js gives up validating ~1,000 repeats of one field).
  it('given GRAPHQL_MAX_TOKENS=1500, then HTTP and graphql-ws alike parse about 1,200 tokens and refuse about 1,600 with GRAPHQL_PARSE_FAILED', async () => {
    const overHttp = (spreads: number) => gql(`{ tripStats { ${'...S '.repeat(spreads)} } } fragment S on TripStats { total }`, { token: admin });
    expect((await overHttp(600)).errors).toBeUndefined();
    const refused = await overHttp(800);
    expect(codes(refused)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(refused.errors?.[0]?.message).toMatch(/1500 tokens/);

    const client = subscriptionClient(system.gatewayUrl, admin);
    try {
      const overWs = async (spreads: number) => {
        const feed = collect(client, `subscription { tripUpdates(tripId: "t-none") { ${'...T '.repeat(spreads)} } } fragment T on Trip { id }`);
        await feed.settled();
        feed.dispose();
        return (feed.errors[0] as Array<{ message: string; extensions?: { code?: string } }>)[0];
      };
      // Parsed: the trip is unknown, which only a parsed and validated subscription can find out.
      expect((await overWs(600))?.extensions?.code).toBe('NOT_FOUND');
      const refusedWs = await overWs(800);
      expect(refusedWs).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
      expect(refusedWs?.message).toMatch(/1500 tokens/);
    } finally {
      await client.dispose();
    }
  });

  it('given a page of pages too costly, then COST_LIMIT_EXCEEDED', async () => {
    // 50 plain fields a trip: five pages of 100 cost 5 × (1 + 100 × 52) = 26,005, over the 25,000.
    const fields = 'id state passengerId passengerName driverId driverName fare distanceKm createdAt updatedAt '.repeat(5);
    const query = `{ a: trips(first: 100) { edges { node { ${fields} } } } b: trips(first: 100) { edges { node { ${fields} } } } c: trips(first: 100) { edges { node { ${fields} } } } d: trips(first: 100) { edges { node { ${fields} } } } e: trips(first: 100) { edges { node { ${fields} } } } }`;
    expect(codes(await gql(query, { token: admin }))).toEqual(['COST_LIMIT_EXCEEDED']);
  });

  it('given a driver asking 15 times for the passengers of their expired offers (issue 20, example 5), then COST_LIMIT_EXCEEDED before any subgraph', async () => {
    const driver = await signToken({ id: 'fan-out', role: 'driver' }, SECRET);
    const offers = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `o${i}: myDispatchOffers(status: EXPIRED) { passenger { name } }`).join(' ')} }`;
    const refused = await gql(offers(15), { token: driver });
    expect(refused.status).toBe(400);
    expect(codes(refused)).toEqual(['COST_LIMIT_EXCEEDED']);
    // 1,500 passengers an entity hop each.
    expect(Number(/estimated cost of (\d+); the limit is 25000/.exec(refused.errors?.[0]?.message ?? '')?.[1])).toBeGreaterThanOrEqual(1_500 * ENTITY_HOP_COST);
    // Their passengers' ids need no other subgraph: the same 15 lists run.
    const ids = await gql(offers(15).replaceAll('passenger { name }', 'passenger { id }'), { token: driver });
    expect(ids.errors).toBeUndefined();
  });

  it('given a body over MAX_BODY_BYTES, then 413 PAYLOAD_TOO_LARGE as JSON', async () => {
    const response = await fetch(system.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ tripStats { total } }', variables: { pad: 'x'.repeat(30_000) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ errors: [{ message: 'The request body is larger than 20000 bytes.', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  it('given introspection in production, then it is refused', async () => {
    const response = await gql('{ __schema { queryType { name } } }', { token: admin });
    expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('given a subgraph that is down, then the gateway names it as SERVICE_UNAVAILABLE with a retry hint, never its address, and is not ready', async () => {
    await system.kill('profile-queries');
    try {
      const response = await gql('{ passenger(id: "p1") { id } }', { token: admin });
      expect(JSON.stringify(response.errors)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|localhost|http:|stack/i);
      expect(response.errors).toEqual([
        expect.objectContaining({
          message: 'The profile-queries service is unavailable; try again shortly.',
          extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 2 }),
        }),
      ]);
      // /ready reuses its answer for 2 s, so the gateway turns unready within about that.
      const ready = await eventually(
        async () => {
          const response = await fetch(`${system.urls.gateway}/ready`);
          return { status: response.status, body: (await response.json()) as unknown };
        },
        (r) => r.status === 503,
      );
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ reason: expect.stringContaining('the profile-queries service') });
    } finally {
      await system.restart('profile-queries');
    }
  });

  it('given one identity sending more than its burst, then 429 RATE_LIMITED with a retry hint', async () => {
    const token = await signToken({ id: 'chatty', role: 'passenger' }, SECRET);
    const responses = await Promise.all(Array.from({ length: 40 }, () => gql('{ myTrips { edges { cursor } } }', { token })));
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(5);
    expect(limited[0]?.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } });
    // Another identity is not affected.
    expect((await gql('{ myTrips { edges { cursor } } }', { token: await signToken({ id: 'calm', role: 'passenger' }, SECRET) })).status).toBe(200);
  });
});
