/**
 * A service starting while its MongoDB-wire server is not answering yet (starting too, or a
 * loaded machine) waits for it instead of exiting at the first refused connection.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../local-servers/src/start-server.ts';
import { connectMongo, type Mongo } from './mongo.ts';

const opened: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of opened.splice(0)) await thing.close();
});

/** A loopback port forwarding to the test's server, listening only once `listen()` is called. */
async function lateProxy(): Promise<{ port: number; listen(): void }> {
  const target = new URL(inject('mongoUrl'));
  const port = await freePort();
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    const server = createConnection(Number(target.port), target.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(server).pipe(client);
  });
  opened.push({ close: () => new Promise<void>((resolve) => { for (const socket of sockets) socket.destroy(); proxy.close(() => resolve()); }) });
  return { port, listen: () => void proxy.listen(port, '127.0.0.1') };
}

describe('connecting to the MongoDB-wire server at start-up', () => {
  it('given the server answers only a second after the service starts, when it connects with a 500 ms request bound, then it waits and connects', async () => {
    // given
    const proxy = await lateProxy();
    const connecting = connectMongo(`mongodb://127.0.0.1:${proxy.port}/`, 'startup_check', 'test', { timeoutMs: 500 });

    // when
    setTimeout(() => proxy.listen(), 1_000);
    const mongo: Mongo = await connecting;
    opened.push(mongo);

    // then
    expect(await mongo.db.command({ ping: 1 })).toMatchObject({ ok: 1 });
  });

  it('given a server that never answers, when the start-up budget is spent, then it fails with the driver\'s error', async () => {
    const port = await freePort();

    await expect(connectMongo(`mongodb://127.0.0.1:${port}/`, 'startup_check', 'test', { timeoutMs: 200, startupTimeoutMs: 1_000 })).rejects.toThrow(/ECONNREFUSED|Server selection timed out/);
  });
});
