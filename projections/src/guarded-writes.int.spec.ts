import { connectMongo, type Mongo } from '@happyride/platform';
import { MongoClient } from 'mongodb';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { serverKindOf, writeAll } from './guarded-writes.ts';

let mongo: Mongo;
beforeAll(async () => {
  mongo = await connectMongo(inject('mongoUrl'), 'test_guarded_writes', 'test');
});
afterAll(async () => {
  await mongo?.db.dropDatabase().catch(() => {});
  await mongo?.close();
});

describe('how the projectors write', () => {
  it.skipIf(!inject('mongoStartedLocally'))('given the embedded FerretDB (the local default), then it is known as FerretDB, and a guarded, fenced filter is one index search by _id', async () => {
    expect(await serverKindOf(mongo.db)).toBe('ferretdb');
    const docs = mongo.db.collection<{ _id: string; version: number }>('guarded_writes_explained');
    await docs.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `d${i}`, version: 1 })));
    // FerretDB explains finds; an update's and a delete's filter take the same path (Query) to SQLite.
    const explained = await mongo.db.command({ explain: { find: docs.collectionName, filter: { _id: 'd7', version: 1, fence: { $not: { $gt: 3 } } } } });
    const plan = (explained['queryPlanner'] as { Plan: string[] }).Plan.join('\n');
    expect(plan).toMatch(/USING (COVERING )?INDEX/);
    expect(plan).not.toMatch(/\bSCAN\b/);
  });

  it('given any server, then it is asked once per database handle', async () => {
    expect(serverKindOf(mongo.db)).toBe(serverKindOf(mongo.db));
    const info = await mongo.db.admin().command({ buildInfo: 1 });
    expect(await serverKindOf(mongo.db)).toBe('ferretdbVersion' in info ? 'ferretdb' : 'mongodb');
  });

  it('given documents written under any fencing tokens (or none), when a write comes with a token, then the store applies it exactly when no newer token wrote there, and a refusal is reported', async () => {
    const server = await serverKindOf(mongo.db);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('replace', 'update', 'delete'),
        async (stored, token, kind) => {
          // Given: documents last written under the tokens `stored` (undefined: never fenced).
          const docs = mongo.db.collection<{ _id: string; version: number; fence?: number }>(`guarded_writes_fenced_${run++}`);
          await docs.insertMany(stored.map((fenceToken, i) => ({ _id: `d${i}`, version: 1, ...(fenceToken === undefined ? {} : { fence: fenceToken }) })));

          // When: one write to each, with `token`.
          const ops = stored.map((_, i) =>
            kind === 'replace'
              ? { replaceOne: { filter: { _id: `d${i}`, version: 1 }, replacement: { version: 2 } } }
              : kind === 'update'
                ? { updateOne: { filter: { _id: `d${i}`, version: 1 }, update: { $set: { version: 2 } } } }
                : { deleteOne: { filter: { _id: `d${i}`, version: 1 } } },
          );
          const outcome = await writeAll(docs, ops, { server, token }).then(
            () => 'applied',
            (error: unknown) => (error instanceof Error ? error.name : String(error)),
          );

          // Then: each document changed iff its token was not newer; any refusal is a FencedOffError.
          const after = new Map((await docs.find().toArray()).map((doc) => [doc._id, doc]));
          const newer = stored.some((fenceToken) => fenceToken !== undefined && fenceToken > token);
          expect(outcome).toBe(newer ? 'FencedOffError' : 'applied');
          stored.forEach((fenceToken, i) => {
            const doc = after.get(`d${i}`);
            if (fenceToken !== undefined && fenceToken > token) expect(doc).toEqual({ _id: `d${i}`, version: 1, fence: fenceToken });
            else if (kind === 'delete') expect(doc).toBeUndefined();
            else expect(doc).toEqual({ _id: `d${i}`, version: 2, fence: token });
          });
          await docs.drop();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('given a document changed since it was read, under the same or an older token, when written, then the write is refused as a conflict (to plan again), not ignored', async () => {
    const server = await serverKindOf(mongo.db);
    const docs = mongo.db.collection<{ _id: string; version: number; fence?: number }>('guarded_writes_conflict');
    await docs.insertMany([
      { _id: 'a', version: 2, fence: 3 },
      { _id: 'b', version: 1, fence: 3 },
    ]);
    const write = writeAll(docs, [{ replaceOne: { filter: { _id: 'a', version: 1 }, replacement: { version: 2 } } }, { insertOne: { document: { _id: 'b', version: 1 } } }], { server, token: 5 });
    await expect(write).rejects.toMatchObject({ name: 'WriteConflictError', message: /2 of 2 writes/ });
    expect(await docs.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'a', version: 2, fence: 3 },
      { _id: 'b', version: 1, fence: 3 },
    ]);
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
      await expect(serverKindOf(db)).rejects.toThrow();

      // When: the server can be reached again.
      open = true;

      // Then: the next ask reaches it and answers what the server is.
      const info = await mongo.db.admin().command({ buildInfo: 1 });
      expect(await serverKindOf(db)).toBe('ferretdbVersion' in info ? 'ferretdb' : 'mongodb');
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
    await writeAll(docs, ops, { server: await serverKindOf(mongo.db), token: 1 });

    expect(await docs.countDocuments({ name: 'new', version: 2 })).toBe(300);
  });
});
