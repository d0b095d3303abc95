import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoClient, type AnyBulkWriteOperation } from 'mongodb';
import { startLocalServers, type LocalServers } from './index.ts';

/**
 * UPDATE_PATCHES (ferretdb-patches.ts): unpatched, FerretDB v1.24 holds one of its 100 SQLite
 * connections per matched statement of an `update` command until the command ends, so update
 * statements in flight beyond 100 deadlock the server (the 4-partition replay hung so).
 * Own FerretDB (the run's NATS): a deadlock here must not take the shared one down.
 */
interface Counter {
  _id: string;
  n: number;
}

const REPLY_TIMEOUT_MS = 10_000;
let servers: LocalServers;
const clients: MongoClient[] = [];

async function client(): Promise<MongoClient> {
  const connected = await new MongoClient(servers.mongoUrl, { socketTimeoutMS: REPLY_TIMEOUT_MS, serverSelectionTimeoutMS: REPLY_TIMEOUT_MS }).connect();
  clients.push(connected);
  return connected;
}

const ids = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
const bumps = (of: readonly string[]): AnyBulkWriteOperation<Counter>[] => of.map((_id) => ({ updateOne: { filter: { _id }, update: { $inc: { n: 1 } } } }));

async function seeded(collection: string, of: readonly string[]) {
  const counters = (await client()).db('concurrent_updates').collection<Counter>(collection);
  await counters.insertMany(of.map((_id) => ({ _id, n: 0 })));
  return counters;
}

beforeAll(async () => {
  servers = await startLocalServers({ env: { NATS_URL: inject('natsUrl') }, log: () => undefined });
}, 15 * 60_000); // a cold machine builds the patched FerretDB first

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close(true)));
  await servers?.stop();
});

describe('given the embedded FerretDB and documents that every update statement matches', () => {
  it('when one update command carries 150 matching statements, then it completes and every document is updated', async () => {
    const all = ids('one', 150);
    const counters = await seeded('one_command', all);

    const result = await counters.bulkWrite(bumps(all), { ordered: false });

    expect(result.modifiedCount).toBe(150);
    expect(await counters.countDocuments({ n: 1 })).toBe(150);
  });

  it('when four clients send commands of 40 matching statements at once, then all complete and every document is updated', async () => {
    const all = ids('four', 160);
    const counters = await seeded('four_commands', all);
    const writers = await Promise.all([0, 1, 2, 3].map(async () => (await client()).db('concurrent_updates').collection<Counter>('four_commands')));

    const results = await Promise.all(writers.map((writer, w) => writer.bulkWrite(bumps(all.slice(w * 40, w * 40 + 40)), { ordered: false })));

    expect(results.map((r) => r.modifiedCount)).toEqual([40, 40, 40, 40]);
    expect(await counters.countDocuments({ n: 1 })).toBe(160);
  });
});
