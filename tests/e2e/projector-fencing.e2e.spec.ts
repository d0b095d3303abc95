/**
 * One writer per read model, enforced by the store (issue 20, invariant 6): two projector
 * processes; the one holding the passengers lease is frozen (SIGSTOP) right after it read a
 * passenger for a rename, in the middle of its batch, past its lease, while the standby takes the
 * lease over and applies many more renames; then it is thawed (SIGCONT) and writes what it
 * planned. The store refuses that write (an older fencing token), the thawed projector stands by,
 * and no sampled read of the passenger ever shows an older name than one read before. The
 * services reach the database through a TCP relay, which freezes the process with the answer to
 * its read waiting in its socket (`tests/support/mongo-relay.ts`).
 */
import { connectNats, consumerDefinitions, leaseHolder, type Nats } from '@happyride/eventstore';
import { connectMongo, type Mongo } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startMongoRelay } from '../support/mongo-relay.ts';
import { natsUrl } from '../support/own-event-log.ts';
import { expectReadModelsToEqualReplay, startRenamesAndTrips } from '../support/read-models.ts';
import { startTestSystem } from '../support/system.ts';
import { newId } from '../support/trips.ts';

const database = `e2e_projector_fencing_${randomUUID().slice(0, 8)}`;
const REGISTER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id } }';
const RENAME = 'mutation ($name: String!) { updatePassengerDetails(input: { name: $name }) { id } }';
let relay: Awaited<ReturnType<typeof startMongoRelay>>;
let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let mongo: Mongo;
let frozenPid: number | null = null;

beforeAll(async () => {
  relay = await startMongoRelay(inject('mongoUrl'));
  // A short lease: the standby takes over about 2 s after the holder froze.
  system = await startTestSystem({ MONGODB_DATABASE: database, PROJECTOR_LEASE_TTL_MS: '2000' }, { replicas: { projector: 2 }, mongoUrl: relay.url });
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-projector-fencing');
  mongo = await connectMongo(inject('mongoUrl'), database, 'e2e-projector-fencing');
}, 300_000);
afterAll(async () => {
  if (frozenPid !== null) process.kill(frozenPid, 'SIGCONT');
  await system?.stop();
  await mongo?.close();
  await nats?.close();
  await relay?.close();
});

const holderPid = async (key: string) => {
  const holder = await leaseHolder(nats.js, key);
  return holder === null ? null : Number(holder.split(':').at(-2));
};
const renameIndex = (name: string | undefined) => (name === undefined ? -1 : Number(name.split(' ').at(-1)));

describe('the passengers projector frozen past its lease in the middle of a batch', () => {
  it('given a standby, when the holder freezes after reading a passenger, the standby applies many renames, and the holder thaws, then its write is refused and no read of the passenger ever goes back', { timeout: 300_000 }, async () => {
    // Given: a passenger, seen by the read model, and the process holding the passengers lease.
    const id = newId('p');
    const token = await tokenFor('passenger', id);
    expect((await gql(REGISTER, { token, variables: { name: `${id} 0` } })).errors).toBeUndefined();
    const passengers = mongo.db.collection<{ _id: string; name: string; version: number }>('passengers');
    await eventually(() => passengers.findOne({ _id: id }), (doc) => doc?.version === 1, { what: 'the registration projected', timeoutMs: 60_000 });
    const key = consumerDefinitions.passengersProjection.name;
    const holder = await eventually(() => holderPid(key), (pid) => pid !== null, { what: 'a passengers lease holder', timeoutMs: 60_000 });
    const standby = [system.pid('projector'), system.pid('projector-2')].find((pid) => pid !== holder)!;
    // Every read of the passenger from here on: none may show an older rename than one before it.
    const sampled: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        sampled.push(renameIndex((await passengers.findOne({ _id: id }))?.name));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    // When: the holder is frozen right after its read of the passenger for rename 1, before its write.
    const frozen = relay.freezeAfter(
      (request, app) => app === 'projector' && request.includes('passengers') && request.includes(id) && request.includes('$in'),
      () => {
        process.kill(holder!, 'SIGSTOP');
        frozenPid = holder;
      },
    );
    expect((await gql(RENAME, { token, variables: { name: `${id} 1` } })).errors).toBeUndefined();
    await frozen;
    // The standby takes the lease over and applies many renames.
    await eventually(() => holderPid(key), (pid) => pid === standby, { what: 'the standby holding the lease', timeoutMs: 60_000 });
    const renames = 20;
    for (let n = 2; n <= renames; n++) expect((await gql(RENAME, { token, variables: { name: `${id} ${n}` } })).errors).toBeUndefined();
    await eventually(() => passengers.findOne({ _id: id }), (doc) => renameIndex(doc?.name) === renames, { what: 'the newest rename applied by the standby', timeoutMs: 60_000 });

    // And the frozen one thaws, with its planned write of rename 1.
    process.kill(holder!, 'SIGCONT');
    frozenPid = null;
    const wentBackAt = () => sampled.findIndex((n, i) => i > 0 && n < sampled[i - 1]!);
    const after = await eventually(
      async () => ({ fencedOff: readFileSync(system.logFile, 'utf8').includes('fenced off'), wentBack: wentBackAt() }),
      ({ fencedOff, wentBack }) => fencedOff || wentBack !== -1,
      { what: 'the thawed projector fenced off', timeoutMs: 60_000 },
    );
    expect(after.wentBack, `sampled rename indices ${sampled.join(',')}`).toBe(-1);

    // Then: the newest name stays, no sampled read went back, and after more load every read model equals a replay.
    const load = await startRenamesAndTrips(gql);
    await eventually(async () => load.accepted(), (accepted) => accepted >= 40, { what: 'load after the thaw', timeoutMs: 120_000 });
    await load.stop();
    sampling = false;
    await sampler;
    expect(renameIndex((await passengers.findOne({ _id: id }))?.name)).toBe(renames);
    expect(wentBackAt(), `sampled rename indices ${sampled.join(',')}`).toBe(-1);
    expect(sampled.length).toBeGreaterThan(10);
    await expectReadModelsToEqualReplay(nats, mongo.db);
  });
});
