import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

/** A request seen on its way to the server, and the application name its connection announced. */
export type RequestMatch = (request: Buffer, appName: string | null) => boolean;

/**
 * A TCP relay in front of a MongoDB-wire server, for services to connect through. `freezeAfter`
 * arms it once: when a request matches, the answer to it is held until `freeze()` has run, then
 * forwarded. With `freeze` stopping the client process (SIGSTOP), the process is stopped with the
 * answer of its read waiting in its socket: stopped between a read and the write it leads to.
 */
export async function startMongoRelay(target: string): Promise<{ url: string; freezeAfter: (match: RequestMatch, freeze: () => void) => Promise<void>; close: () => Promise<void> }> {
  const server = new URL(target);
  const sockets = new Set<Socket>();
  let armed: { match: RequestMatch; freeze: () => void; done: () => void } | null = null;
  const relay = createServer((client) => {
    const upstream = createConnection(Number(server.port), server.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    let appName: string | null = null;
    let freezing: { freeze: () => void; done: () => void } | null = null;
    client.on('data', (chunk: Buffer) => {
      // The handshake names the application (`client.application.name`): the MongoClient's `appName`.
      if (appName === null) appName = /projector|gateway|subgraph|saga|test/.exec(chunk.toString('latin1'))?.[0] ?? null;
      if (armed && armed.match(chunk, appName)) {
        freezing = armed;
        armed = null;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (freezing) {
        freezing.freeze();
        freezing.done();
        freezing = null;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as AddressInfo;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    freezeAfter: (match, freeze) => new Promise<void>((done) => (armed = { match, freeze, done })),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
}
