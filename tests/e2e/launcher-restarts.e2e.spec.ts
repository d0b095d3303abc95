/**
 * `npm start`'s launcher (scripts/system.ts) restarts a service that crashes: kill -9 a query
 * subgraph behind its back, and it is reported (which service, how it exited, when it comes
 * back), started again, ready again, and queries through the gateway answer again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;

beforeAll(async () => {
  system = await startTestSystem({}, { without: ['saga-worker'], restarts: { initialDelayMs: 500 } });
  gql = graphqlClient(system.gatewayUrl);
});
afterAll(() => system?.stop());

const ready = async (url: string) => (await fetch(`${url}/ready`).catch(() => null))?.status ?? 0;

describe('the launcher restarts a crashed service', { timeout: 90_000 }, () => {
  it('given a running system, when a query subgraph is killed with SIGKILL, then the launcher says so, restarts it, and queries work again', async () => {
    const admin = await tokenFor('admin', 'ops');
    expect((await gql('{ tripStats { total } }', { token: admin })).errors).toBeUndefined();
    const before = system.pid('trip-queries');
    expect(before).toBeTypeOf('number');

    process.kill(before!, 'SIGKILL');

    const events = await eventually(async () => [...system.launcherEvents], (lines) => lines.some((line) => line.includes('trip-queries restarted')), 45_000);
    expect(events).toEqual([
      'trip-queries exited (signal SIGKILL); restarting it in 0.5 s (crash 1 in a row)',
      'trip-queries restarted: ready again',
    ]);
    expect(system.pid('trip-queries')).not.toBe(before);
    expect(await ready(system.urls['trip-queries']!)).toBe(200);
    const answer = await eventually(() => gql('{ tripStats { total } }', { token: admin }), (response) => response.errors === undefined, 10_000);
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toEqual({ tripStats: { total: expect.any(Number) } });
  });

  it('given a service stopped on purpose through the launcher, then it is not restarted until asked', async () => {
    const said = system.launcherEvents.length;
    await system.kill('profile-queries');
    expect(system.pid('profile-queries')).toBeUndefined();
    expect(await ready(system.urls['profile-queries']!)).toBe(0);
    await system.restart('profile-queries');
    expect(await ready(system.urls['profile-queries']!)).toBe(200);
    expect(system.launcherEvents.slice(said)).toEqual([]);
  });
});
