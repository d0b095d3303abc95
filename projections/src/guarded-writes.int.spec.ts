import { connectMongo, type Mongo } from '@happyride/platform';
import { MongoClient } from 'mongodb';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { writeAll, writeFiltersFor } from './guarded-writes.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), 'test_guarded_writes', 'test');
});
afterAll(async () => {
  await mongo?.db.dropDatabase().catch(() => {});
  await mongo?.close();
});

describe('which filters the projectors send', () => {
  it.skipIf(!inject('mongoStartedLocally'))('given the embedded FerretDB (the local default), then writes go by _id only, the filter it pushes down to SQLite', async () => {
    expect(await writeFiltersFor(mongo.db)).toBe('id-only');
  });

  it('given any server, then it is asked once per database handle', async () => {
    expect(writeFiltersFor(mongo.db)).toBe(writeFiltersFor(mongo.db));
    const info = await mongo.db.admin().command({ buildInfo: 1 });
    expect(await writeFiltersFor(mongo.db)).toBe('ferretdbVersion' in info ? 'id-only' : 'guarded');
  });

  it('given the server unreachable when first asked, when asked again once it answers, then the failed ask was not kept', { timeout: 30_000 }, async () => {
    // Given: a connected database handle whose only way to the server is a TCP relay, which then cuts every connection.
    let open = true;
    const target = new URL(inject('mongoUrl'));
    const sockets = new Set<Socket>();
    const relay = createServer((socket) => {
      if (!open) return void socket.destroy();
      const upstream = createConnection(Number(target.port), target.hostname);
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as AddressInfo;
    const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, { directConnection: true, serverSelectionTimeoutMS: 2_000, heartbeatFrequencyMS: 500 });
    const db = client.db('test_guarded_writes_unreachable');
    try {
      await client.connect();
      open = false;
      for (const s of sockets) s.destroy();
      await expect(writeFiltersFor(db)).rejects.toThrow();

      // When: the server can be reached again.
      open = true;

      // Then: the next ask reaches it and answers what the server is.
      const info = await mongo.db.admin().command({ buildInfo: 1 });
      expect(await writeFiltersFor(db)).toBe('ferretdbVersion' in info ? 'id-only' : 'guarded');
    } finally {
      await client.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('given 300 guarded updates of stored documents in one batch, when written, then all apply (FerretDB deadlocks on ~100 matching statements in one command: they go in smaller ones)', async () => {
    const docs = mongo.db.collection<{ _id: string; version: number; name: string }>('guarded_writes_many');
    await docs.insertMany(Array.from({ length: 300 }, (_, i) => ({ _id: `d${i}`, version: 1, name: 'old' })));

    const ops = Array.from({ length: 300 }, (_, i) => ({ updateOne: { filter: { _id: `d${i}`, version: 1 }, update: { $set: { name: 'new', version: 2 } } } }));
    await writeAll(docs, ops, await writeFiltersFor(mongo.db));

    expect(await docs.countDocuments({ name: 'new', version: 2 })).toBe(300);
  });
});
