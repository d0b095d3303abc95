import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;

beforeAll(async () => {
  system = await startTestSystem();
  gql = graphqlClient(system.gatewayUrl);
});
afterAll(() => system?.stop());

const REGISTER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id name version } }';
const RENAME = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id name version } }';
const PASSENGER = 'query ($id: ID!) { passenger(id: $id) { id name banned version registeredAt updatedAt } }';

type PassengerData = { passenger: { id: string; name: string; version: number } | null };

describe('passengers end to end, through the gateway', () => {
  it('given a passenger, when they register and rename themself, then the passenger query shows the new name', async () => {
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);

    const registered = await gql(REGISTER, { token, variables: { name: 'Ada' } });
    expect(registered.data).toEqual({ registerPassenger: { id, name: 'Ada', version: 1 } });
    const renamed = await gql(RENAME, { token, variables: { name: '  Ada Lovelace ' } });
    expect(renamed.data).toEqual({ updatePassengerDetails: { id, name: 'Ada Lovelace', version: 2 } });

    const seen = await eventually(
      () => gql<PassengerData>(PASSENGER, { token, variables: { id } }),
      (response) => response.data?.passenger?.version === 2,
    );
    expect(seen.data?.passenger).toMatchObject({ id, name: 'Ada Lovelace', version: 2 });
  });

  it('given a registration, when the passenger is queried right after, then it is visible within a second', async () => {
    const id = `p-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor('passenger', id);
    await gql(REGISTER, { token, variables: { name: 'Grace' } });
    const started = Date.now();
    const seen = await eventually(() => gql<PassengerData>(PASSENGER, { token, variables: { id } }), (r) => Boolean(r.data?.passenger), 1_000);
    expect(seen.data?.passenger?.name, `not visible after ${Date.now() - started} ms`).toBe('Grace');
  });

  describe('bad input gets a clear error and writes nothing', () => {
    it.each([
      ['an empty name', '   ', /must not be empty/],
      ['an over-long name', 'x'.repeat(101), /at most 100/],
      ['a control character', 'Ada\u0007', /control characters/],
    ])('given %s, when registering, then BAD_USER_INPUT', async (_label, name, message) => {
      const id = `p-${randomUUID().slice(0, 8)}`;
      const token = await tokenFor('passenger', id);
      const response = await gql(REGISTER, { token, variables: { name } });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0]?.message).toMatch(message);
      // Nothing was written: the same passenger can still register.
      expect((await gql(REGISTER, { token, variables: { name: 'Valid' } })).data).toMatchObject({ registerPassenger: { version: 1 } });
    });

    it('given no token, when registering, then UNAUTHENTICATED', async () => {
      expect(codes(await gql(REGISTER, { variables: { name: 'Nobody' } }))).toEqual(['UNAUTHENTICATED']);
    });

    it('given a token signed with another secret, when querying, then UNAUTHENTICATED', async () => {
      const forged = await (await import('@happyride/platform')).signToken({ id: 'p1', role: 'admin' }, 'not-the-secret-at-all-0123456789');
      const response = await gql(PASSENGER, { token: forged, variables: { id: 'p1' } });
      expect(response.status).toBe(401);
      expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    });

    it('given an unknown passenger, when an admin queries it, then NOT_FOUND', async () => {
      const response = await gql(PASSENGER, { token: await tokenFor('admin', 'ops'), variables: { id: 'nobody-here' } });
      expect(codes(response)).toEqual(['NOT_FOUND']);
    });

    it('given a registered passenger, when they register again, then CONFLICT', async () => {
      const id = `p-${randomUUID().slice(0, 8)}`;
      const token = await tokenFor('passenger', id);
      await gql(REGISTER, { token, variables: { name: 'Once' } });
      expect(codes(await gql(REGISTER, { token, variables: { name: 'Twice' } }))).toEqual(['CONFLICT']);
    });

    it("given another passenger's id, when a passenger queries it, then FORBIDDEN", async () => {
      const response = await gql(PASSENGER, { token: await tokenFor('passenger', 'someone'), variables: { id: 'someone-else' } });
      expect(codes(response)).toEqual(['FORBIDDEN']);
    });
  });

  it('given the running gateway, then /health and /ready answer 200', async () => {
    expect((await fetch(`${system.urls.gateway}/health`)).status).toBe(200);
    const ready = await fetch(`${system.urls.gateway}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
