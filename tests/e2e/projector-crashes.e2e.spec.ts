/**
 * The read side heals itself (issue 12): the projector is killed with SIGKILL at random
 * moments, again and again, while renames and trips keep coming through the real gateway, and
 * started again after 0–5 s. Afterwards every read model (passengers, drivers, trip history)
 * must equal a fresh replay of the whole log through the pure projection code, with no dead
 * letter parked. Random moments come from a seeded generator (`PROJECTOR_CRASH_SEED` to replay
 * a run); the seed is printed.
 */
import { connectNats, consumerDefinitions, leaseHolder, type Nats } from '@happyride/eventstore';
import { connectMongo, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { graphqlClient } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { expectReadModelsToEqualReplay, startRenamesAndTrips } from '../support/read-models.ts';
import { startTestSystem } from '../support/system.ts';

const database = `e2e_projector_crashes_${randomUUID().slice(0, 8)}`;
const seed = Number(process.env['PROJECTOR_CRASH_SEED'] ?? Date.now() % 1_000_000);
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let mongo: Mongo;

beforeAll(async () => {
  // A short lease: a restarted projector relieves its killed predecessor within about 2 s.
  system = await startTestSystem({ MONGODB_DATABASE: database, PROJECTOR_LEASE_TTL_MS: '2000' });
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-projector-crashes');
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-projector-crashes');
});
afterAll(async () => {
  await system?.stop();
  await mongo?.close();
  await nats?.close();
});

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seedValue: number): () => number {
  let a = seedValue >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('projector killed with SIGKILL under load', () => {
  it('given renames and trips through the gateway, when the projector is killed 10 times at random moments and restarted after 0–5 s, then every read model equals a fresh replay of the log and nothing is dead-lettered', { timeout: 600_000 }, async () => {
    const next = random(seed);
    console.info(`projector crash test seed: ${seed} (PROJECTOR_CRASH_SEED)`);

    // Given: passengers and drivers, then a steady load of renames and trip requests.
    const load = await startRenamesAndTrips(gql);

    // When: ten kills at random moments while the projector applies, each followed by a restart after 0–5 s.
    const projectorKeys = [consumerDefinitions.passengersProjection.name, consumerDefinitions.driversProjection.name, consumerDefinitions.tripHistoryProjection.name];
    const holders = async () => Promise.all(projectorKeys.map((key) => leaseHolder(nats.js, key)));
    let killed: (string | null)[] = [null, null, null];
    for (let kill = 0; kill < 10; kill++) {
      // The (re)started projector has relieved the killed one of every lease: it applies.
      const active = await holders();
      for (let wait = 0; active.some((holder, i) => holder === null || holder === killed[i]); wait++) {
        if (wait > 600) throw new Error(`the restarted projector never took the leases over: ${JSON.stringify(active)}`);
        await sleep(100);
        active.splice(0, 3, ...(await holders()));
      }
      await sleep(300 + next() * 2_500);
      killed = active;
      await system.kill('projector', 'SIGKILL');
      await sleep(next() * 5_000);
      await system.restart('projector');
    }
    await sleep(1_000);
    expect(await load.stop()).toBeGreaterThan(100);

    // Then: the read models converge to the replay of the log, field by field, and nothing is dead-lettered.
    await expectReadModelsToEqualReplay(nats, mongo.db);
  });
});
