import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MongoClient, type Db } from 'mongodb';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { bootstrapEventLog, connectNats, EVENTS_STREAM } from '@happyride/eventstore';
import { natsServerOptions } from '@happyride/eventstore/nats';
import { natsServiceUsers } from '@happyride/eventstore/nats-permissions';
import { localNatsServiceUrl, startLocalServers } from './index.ts';
import type { LocalServers } from './index.ts';
import { tcpProbe } from './readiness.ts';

/** Resolves true when something accepts TCP connections at `url`'s host:port. */
/** Whether something accepts connections at the URL's (loopback) port. */
const isListening = (url: string): Promise<boolean> => tcpProbe(Number(new URL(url).port));

describe('given local servers started with a custom dataDir', () => {
  let dataDir: string;
  let servers: LocalServers;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-servers-spec-'));
    // env: {} so that NATS_URL / MONGODB_URL from a globalSetup do not short-circuit the start.
    servers = await startLocalServers({ dataDir, env: {}, log: () => undefined });
  }, 15 * 60_000); // a cold machine builds both binaries first

  afterAll(async () => {
    await servers?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('when a stream is created and a message published on NATS, then it reads back from JetStream', async () => {
    expect(servers.natsUrl).toMatch(/^nats:\/\/local-admin:[\w-]+@127\.0\.0\.1:\d+$/);
    const nc = await connect(natsServerOptions(servers.natsUrl));
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'SPEC', subjects: ['spec.>'] });
      const ack = await jetstream(nc).publish('spec.hello', 'world');
      const stored = await jsm.streams.getMessage('SPEC', { seq: ack.seq });
      expect(stored?.subject).toBe('spec.hello');
      expect(stored?.string()).toBe('world');
    } finally {
      await nc.close();
    }
  });

  it('when a client connects without credentials, then nats-server refuses it', async () => {
    const { servers: withoutCredentials } = natsServerOptions(servers.natsUrl);
    await expect(connect({ servers: withoutCredentials, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it.each(natsServiceUsers)('when the service %s connects with the URL derived from the admin URL, then nats-server accepts it', async (service) => {
    const url = localNatsServiceUrl(servers.natsUrl, service);
    expect(url).toMatch(new RegExp(`^nats://${service}:[\\w-]+@127\\.0\\.0\\.1:\\d+$`));
    const nc = await connect({ ...natsServerOptions(url ?? ''), reconnect: false });
    await nc.close();
  });

  it('when a document is inserted with the mongodb driver, then FerretDB reads it back', async () => {
    expect(servers.mongoUrl).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/);
    const client = new MongoClient(servers.mongoUrl);
    try {
      const rides = client.db('spec').collection<{ _id: string; status: string }>('rides');
      await rides.insertOne({ _id: 'ride-1', status: 'requested' });
      expect(await rides.findOne({ _id: 'ride-1' })).toEqual({ _id: 'ride-1', status: 'requested' });
    } finally {
      await client.close();
    }
  });

  describe('and FerretDB built with our patches (ferretdb-patches.ts)', () => {
    let client: MongoClient;
    let db: Db;
    beforeAll(async () => {
      client = new MongoClient(servers.mongoUrl);
      db = client.db('spec');
    });
    afterAll(async () => {
      await client?.close();
    });
    /** SQLite's plan for a find, as FerretDB's `explain` reports it. */
    const planOf = async (collection: string, filter: object) =>
      ((await db.command({ explain: { find: collection, filter } }))['queryPlanner'] as { Plan: string[] }).Plan.join('\n');

    it('when a document is looked up by _id, then SQLite searches the _id index instead of scanning the table', async () => {
      await db.collection<{ _id: string }>('lookups').insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `doc-${i}` })));
      const plan = await planOf('lookups', { _id: 'doc-7' });
      expect(plan).toMatch(/SEARCH \S+ USING INDEX \S+__id_/);
      expect(plan).not.toMatch(/\bSCAN\b/);
    });

    it('when documents are found by _id $in, then SQLite searches the _id index and the answer keeps MongoDB semantics', async () => {
      const docs = db.collection<{ _id: string | number; n: number }>('in_lookups');
      await docs.insertMany([...Array.from({ length: 50 }, (_, i) => ({ _id: `doc-${i}`, n: i })), { _id: 7, n: 7 }]);
      expect(await planOf('in_lookups', { _id: { $in: ['doc-3', 'doc-9'] } })).toMatch(/SEARCH \S+ USING INDEX \S+__id_/);

      const found = async (filter: object) => (await docs.find(filter).toArray()).map((d) => d._id).sort();
      expect(await found({ _id: { $in: ['doc-3', 'doc-9', 'missing', 'doc-3'] } })).toEqual(['doc-3', 'doc-9']);
      // Not pushed down (a number among the values, or another operator beside $in): still answered in full.
      expect(await found({ _id: { $in: ['doc-4', 7] } })).toEqual(expect.arrayContaining(['doc-4', 7]));
      expect(await found({ _id: { $in: ['doc-4', 'doc-5'], $ne: 'doc-5' } })).toEqual(['doc-4']);
      expect(await found({ _id: { $in: [] } })).toEqual([]);
      const updated = await docs.updateMany({ _id: { $in: ['doc-1', 'doc-2'] } }, { $set: { n: -1 } });
      expect(updated.modifiedCount).toBe(2);
    });

    it('when documents are found by one field compared with strings, then SQLite uses the field index and arrays holding the value still match', async () => {
      const trips = db.collection<{ _id: string; passengerId?: unknown; state?: string }>('field_lookups');
      await trips.createIndex({ passengerId: 1, state: 1 });
      await trips.insertMany([
        ...Array.from({ length: 40 }, (_, i) => ({ _id: `t${i}`, passengerId: `p${i % 10}`, state: i % 2 ? 'FINISHED' : 'CANCELLED' })),
        { _id: 'shared', passengerId: ['p1', 'p2'] },
        { _id: 'number', passengerId: 1 },
        { _id: 'nested', passengerId: { id: 'p1' } },
        { _id: 'none' },
      ]);
      const plan = await planOf('field_lookups', { passengerId: { $in: ['p1', 'p3'] } });
      expect(plan).toMatch(/MULTI-INDEX OR[\s\S]*USING INDEX/);
      expect(plan).not.toMatch(/\bSCAN\b/);

      const found = async (filter: object) => (await trips.find(filter).toArray()).map((d) => d._id).sort();
      expect(await found({ passengerId: { $in: ['p1', 'p3'] } })).toEqual(['shared', 't1', 't11', 't13', 't21', 't23', 't3', 't31', 't33']);
      expect(await found({ passengerId: 'p2' })).toEqual(['shared', 't12', 't2', 't22', 't32']);
      expect(await found({ passengerId: { $in: ['p9'] }, state: 'FINISHED' })).toEqual(['t19', 't29', 't39', 't9']); // two fields: not pushed down
      expect(await found({ passengerId: { $in: [1] } })).toEqual(['number']); // not strings: not pushed down
      expect(await found({ state: 'CANCELLED', passengerId: { $exists: false } })).toEqual([]);
      expect(await found({ state: { $in: ['FINISHED'] } })).toHaveLength(20); // no index on state alone: answered in SQLite all the same
      expect((await trips.deleteMany({ passengerId: 'p0' })).deletedCount).toBe(4);
    });
  });

  it('when stopped, then nothing listens any more and the custom dataDir is kept', async () => {
    await servers.stop();
    expect(await isListening(servers.natsUrl)).toBe(false);
    expect(await isListening(servers.mongoUrl)).toBe(false);
    expect((await readdir(dataDir)).sort()).toEqual(['ferretdb', 'nats']);
    expect(await readdir(join(dataDir, 'nats'))).toContain('jetstream');
    expect((await readdir(join(dataDir, 'ferretdb'))).some((f) => f.endsWith('.sqlite'))).toBe(true);
  });
});

describe('given NATS_URL and MONGODB_URL in the environment', () => {
  it('when starting, then those URLs are used, nothing is started and stop() leaves them alone', async () => {
    const env = { NATS_URL: 'nats://127.0.0.1:1', MONGODB_URL: 'mongodb://127.0.0.1:2/' };
    const servers = await startLocalServers({ env, log: () => undefined });
    expect(servers.natsUrl).toBe(env.NATS_URL);
    expect(servers.mongoUrl).toBe(env.MONGODB_URL);
    await servers.stop();
  });
});

describe('given the vitest global setup of this project', () => {
  it('when a test injects the URLs, then they match the env and both servers answer', async () => {
    const natsUrl = inject('natsUrl');
    const mongoUrl = inject('mongoUrl');
    expect(process.env['NATS_URL']).toBe(natsUrl);
    expect(process.env['MONGODB_URL']).toBe(mongoUrl);
    const nc = await connect(natsServerOptions(natsUrl));
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
    const client = new MongoClient(mongoUrl);
    try {
      expect(await client.db('admin').command({ ping: 1 })).toMatchObject({ ok: 1 });
    } finally {
      await client.close();
    }
  });
});

describe('given local servers started as a JetStream cluster of 3 (NATS_CLUSTER=3)', () => {
  let servers: LocalServers;
  beforeAll(async () => {
    servers = await startLocalServers({ env: { MONGODB_URL: inject('mongoUrl') }, natsCluster: 3, log: () => undefined });
  }, 120_000);
  afterAll(() => servers?.stop());

  it('then the URL lists the three nodes, each with its own store, and a service user connects through the list', async () => {
    expect(servers.natsUrl.split(',')).toHaveLength(3);
    expect(servers.natsNodes.map((node) => node.name)).toEqual(['happyride-local-1', 'happyride-local-2', 'happyride-local-3']);
    expect(new Set(servers.natsNodes.map((node) => node.storeDir)).size).toBe(3);
    const nc = await connect({ ...natsServerOptions(localNatsServiceUrl(servers.natsUrl, 'projector') ?? ''), reconnect: false });
    await nc.close();
  });

  it('when the event log is bootstrapped with 3 replicas and again without a count, then the stream, its consumers and every bucket keep 3', async () => {
    const nats = await connectNats(servers.natsUrl, 'spec-bootstrap');
    try {
      await bootstrapEventLog(nats.jsm, undefined, { replicas: 3 });
      await bootstrapEventLog(nats.jsm);
      for (const stream of [EVENTS_STREAM, 'KV_driver-locations', 'KV_idempotency-keys', 'KV_trip-slots', 'KV_worker-leases']) {
        const info = await nats.jsm.streams.info(stream);
        expect([info.config.num_replicas, info.cluster?.replicas?.length], stream).toEqual([3, 2]);
      }
      for await (const consumer of nats.jsm.consumers.list(EVENTS_STREAM)) expect(consumer.cluster?.replicas?.length, consumer.name).toBe(2);
    } finally {
      await nats.close();
    }
  });

  it('when a stream with 3 replicas loses its leader (kill -9) and the node comes back with its store, then writes go on and the node catches up', async () => {
    const nc = await connect(natsServerOptions(servers.natsUrl));
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await jsm.streams.add({ name: 'SPEC_R3', subjects: ['r3.>'], num_replicas: 3 });
      await js.publish('r3.before', 'one');
      const leaderName = (await jsm.streams.info('SPEC_R3')).cluster?.leader;
      const leader = servers.natsNodes.find((node) => node.name === leaderName);
      if (!leader) throw new Error(`no node named ${leaderName}`);

      await leader.kill('SIGKILL');
      expect(leader.pid()).toBeUndefined();
      const ack = await publishUntilAcknowledged(() => js.publish('r3.after', 'two', { timeout: 1_000 }), 30_000);
      await leader.restart();

      expect(ack.seq).toBe(2);
      const info = await waitFor(() => jsm.streams.info('SPEC_R3'), (i) => i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((peer) => peer.current), 30_000);
      expect(info.cluster?.leader).not.toBe(undefined);
      expect(info.state.messages).toBe(2);
    } finally {
      await nc.close();
    }
  });
});

/** Retries a publish the cluster cannot take while it elects a leader; fails after `timeoutMs`. */
async function publishUntilAcknowledged<T>(publish: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await publish();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function waitFor<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
