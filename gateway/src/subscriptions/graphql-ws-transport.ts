import type { Logger } from '@happyride/platform';
import { CloseCode, makeServer, type ServerOptions, type WebSocket as GraphQLWsSocket } from 'graphql-ws';
import type { RawData, WebSocket, WebSocketServer } from 'ws';

/** What a subscription's context knows of its connection: the socket, nothing of the upgrade request. */
export interface Extra {
  socket: WebSocket;
}

/**
 * One socket as graphql-ws's protocol sees it: methods on one small object, instead of the
 * closures `useServer` makes for each socket (send, close, onMessage, its error and close listeners).
 */
class Connection implements GraphQLWsSocket {
  receive: ((data: string) => Promise<void>) | undefined;
  closed: ((code?: number, reason?: string) => Promise<void>) | undefined;

  constructor(readonly socket: WebSocket) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => socket.send(data, (error) => (error ? reject(error) : resolve())));
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(receive: (data: string) => Promise<void>): void {
    this.receive = receive;
  }
}

/**
 * graphql-ws's protocol (its `makeServer`: messages, close codes, `onConnect`/`onSubscribe`) on
 * the sockets of a `ws` server, in place of graphql-ws's own `useServer`, which keeps for every
 * socket what an idle driver app does not need: the upgrade request with all its headers (about
 * 1.5 KB: the heap snapshot of 3,000 idle sockets in `bench:subscriptions`), six closures, and a
 * keep-alive timer (`KeepAlive` pings every socket from one timer). The listeners here are shared
 * by all sockets (`this` is the socket). As with `useServer`, a message whose handling throws
 * closes its socket with 4500, and so does an `error` on the server; an `error` on one socket
 * (a protocol error: `ws` closes it itself, 1009 for a message over `maxPayload`) is logged once,
 * at info, never printed with console.error (a client could flood it).
 */
export function serveGraphQLWs<P extends Record<string, unknown> | undefined>(options: ServerOptions<P, Extra>, server: WebSocketServer, logger: Logger) {
  const protocol = makeServer<P, Extra>(options);
  const connections = new WeakMap<WebSocket, Connection>();

  function onMessage(this: WebSocket, data: RawData): void {
    const connection = connections.get(this);
    connection?.receive?.(String(data)).catch((error: unknown) => {
      logger.error({ err: error }, 'graphql-ws message handling failed: socket closed with 4500');
      this.close(CloseCode.InternalServerError, 'Internal server error');
    });
  }
  function onClose(this: WebSocket, code: number, reason: Buffer): void {
    const connection = connections.get(this);
    connections.delete(this);
    // Ends the socket's subscriptions (their iterators' `return`); a failure there is logged, never an unhandled rejection.
    connection?.closed?.(code, String(reason)).catch((error: unknown) => logger.warn({ err: error }, 'graphql-ws cleanup after a close failed'));
  }
  function onProtocolError(this: WebSocket, error: Error): void {
    logger.info({ err: error.message }, 'websocket closed on a protocol error');
  }

  server.on('connection', (socket) => {
    const connection = new Connection(socket);
    connections.set(socket, connection);
    socket.on('error', onProtocolError);
    socket.on('message', onMessage);
    socket.on('close', onClose);
    connection.closed = protocol.opened(connection, { socket });
  });
  server.on('error', (error) => {
    logger.error({ err: error }, 'websocket server error: every socket closed with 4500');
    for (const client of server.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });

  return {
    /** Closes every socket (1001, going away); the server itself is the caller's to close. */
    dispose(): void {
      for (const client of server.clients) client.close(1001, 'Going away');
    },
  };
}
