/**
 * Partitioned projectors (issue 15): two projector processes share every read model's 4
 * partitions through leases, two each; one is killed with SIGKILL under a steady load of
 * renames and trips, the other takes its partitions over once their leases expire, and
 * afterwards every read model equals a fresh replay of the log, with no dead letter parked.
 */
import { connectNats, consumerDefinitions, leaseHolder, partitionConsumer, partitionsOf, type Nats } from '@happyride/eventstore';
import { connectMongo, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { graphqlClient } from '../support/graphql-client.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { expectReadModelsToEqualReplay, startRenamesAndTrips } from '../support/read-models.ts';
import { startTestSystem } from '../support/system.ts';

const PARTITIONS = 4;
const database = `e2e_projector_partitions_${randomUUID().slice(0, 8)}`;
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let mongo: Mongo;

beforeAll(async () => {
  // A short lease: the survivor takes a killed projector's partitions over within about 2 s.
  system = await startTestSystem(
    { MONGODB_DATABASE: database, PROJECTOR_LEASE_TTL_MS: '2000', PROJECTION_PARTITIONS: String(PARTITIONS) },
    { replicas: { projector: 2 } },
  );
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-projector-partitions');
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-projector-partitions');
}, 300_000);
afterAll(async () => {
  await system?.stop();
  await mongo?.close();
  await nats?.close();
});

const definitions = [consumerDefinitions.passengersProjection, consumerDefinitions.driversProjection, consumerDefinitions.tripHistoryProjection];
/** Who holds each (read model, partition) lease, by pid (a holder names itself `host:pid:nonce`); null: nobody. */
async function holders(): Promise<Record<string, (number | null)[]>> {
  const byModel: Record<string, (number | null)[]> = {};
  for (const definition of definitions) {
    byModel[definition.name] = await Promise.all(
      partitionsOf(PARTITIONS).map(async (partition) => {
        const holder = await leaseHolder(nats.js, partitionConsumer(definition.name, partition));
        return holder === null ? null : Number(holder.split(':').at(-2));
      }),
    );
  }
  return byModel;
}

/** Waits up to a minute, probing every 200 ms: leases and takeovers move on a seconds scale. */
const until = <T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean) => eventually(probe, ok, { what, timeoutMs: 60_000, intervalMs: 200 });

describe('two projector processes sharing 4 partitions of every read model', () => {
  it('given both holding partitions under load, when one is killed with SIGKILL, then the other takes all its partitions, the load goes on, and every read model equals a fresh replay', { timeout: 300_000 }, async () => {
    const first = system.pid('projector')!;
    const second = system.pid('projector-2')!;
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(0);

    // Given: each process holds two partitions of every read model (at most ceil(4 / 2) each).
    const shared = await until('the partitions shared two and two', holders, (byModel) =>
      Object.values(byModel).every((pids) => [first, second].every((pid) => pids.filter((holder) => holder === pid).length === PARTITIONS / 2)),
    );
    console.info(`partition leases before the kill: ${JSON.stringify(shared)}`);
    const load = await startRenamesAndTrips(gql);
    await until('mutations accepted before the kill', async () => load.accepted(), (accepted) => accepted >= 60);

    // When: the second projector dies without a word.
    await system.kill('projector-2', 'SIGKILL');
    const killedAt = Date.now();
    const taken = await until('the survivor holding every partition', holders, (byModel) => Object.values(byModel).every((pids) => pids.every((holder) => holder === first)));
    console.info(`survivor holds all ${definitions.length * PARTITIONS} partition leases ${Date.now() - killedAt} ms after the kill: ${JSON.stringify(taken)}`);
    const acceptedAtTakeover = load.accepted();
    await until('mutations accepted after the takeover', async () => load.accepted(), (accepted) => accepted >= acceptedAtTakeover + 60);
    expect(await load.stop()).toBeGreaterThan(120);

    // Then: every read model equals a fresh replay of the log (name lookups: one copy per partition).
    await expectReadModelsToEqualReplay(nats, mongo.db, { partitions: PARTITIONS });
  });
});
