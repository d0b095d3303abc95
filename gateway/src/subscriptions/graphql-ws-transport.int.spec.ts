import { createLogger } from '@happyride/platform';
import type * as GraphQL from 'graphql';
import type { FormattedExecutionResult as GraphQLWsResult } from 'graphql-ws';
import { createClient, handleProtocols, type Context } from 'graphql-ws';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphQLWs, type Extra } from './graphql-ws-transport.ts';

/** A real `ws` server on loopback with graphql-ws's protocol through `serveGraphQLWs`, and a real graphql-ws client. */
// The schema from the graphql module graphql-ws loads (Node's, CommonJS), not vitest's ESM copy: graphql refuses a schema of another realm.
const { buildSchema } = createRequire(import.meta.url)('graphql') as typeof GraphQL;
const schema = buildSchema('type Query { ok: Boolean } type Subscription { count: Int }');
// Three events, then the subscription completes.
schema.getSubscriptionType()!.getFields()['count']!.subscribe = async function* () {
  for (let count = 1; count <= 3; count++) yield { count };
};
let httpServer: Server;
let url: string;
const contexts: Context<Record<string, unknown> | undefined, Extra>[] = [];

beforeAll(async () => {
  httpServer = createServer();
  const server = new WebSocketServer({ server: httpServer, path: '/graphql', handleProtocols });
  serveGraphQLWs<Record<string, unknown> | undefined>(
    {
      schema,
      onConnect: (ctx) => ctx.connectionParams?.['token'] === 'good',
      onSubscribe: (ctx, _id, payload) => {
        if (payload.query.includes('boom')) throw new Error('not a GraphQL error');
        contexts.push(ctx);
        return undefined; // graphql-ws executes it
      },
    },
    server,
    createLogger('test', process.env.TEST_LOG ?? 'silent'),
  );
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => httpServer.close(resolve));
});

/** The results of one subscription until it completes, or its error (a close event or GraphQL errors). */
function subscribeOnce(query: string, token: string): Promise<{ results: GraphQLWsResult<Record<string, unknown>, unknown>[]; error?: unknown }> {
  const client = createClient({ url, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0, connectionParams: { token } });
  const results: GraphQLWsResult<Record<string, unknown>, unknown>[] = [];
  return new Promise((resolve) => {
    client.subscribe(
      { query },
      {
        next: (result) => results.push(result),
        error: (error: unknown) => resolve({ results, error }),
        complete: () => resolve({ results }),
      },
    );
  }).finally(() => client.dispose()) as Promise<{ results: GraphQLWsResult<Record<string, unknown>, unknown>[]; error?: unknown }>;
}

/**
 * The close code a raw socket gets: opened with `protocol` (none if undefined), it sends
 * `connection_init` when given `init`, waits for the ack, then sends `messages`.
 */
function closeCodeOf(protocol: string | undefined, { init, messages = [] }: { init?: Record<string, unknown>; messages?: string[] }): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = protocol === undefined ? new WebSocket(url) : new WebSocket(url, protocol);
    const sendAll = () => messages.forEach((message) => socket.send(message));
    socket.on('open', () => (init ? socket.send(JSON.stringify({ type: 'connection_init', payload: init })) : sendAll()));
    socket.on('message', (data) => (JSON.parse(String(data)) as { type: string }).type === 'connection_ack' && sendAll());
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}

describe('graphql-ws over ws without per-socket closures (serveGraphQLWs)', () => {
  it('given a permitted client, when it subscribes, then every event arrives, it completes, and its context holds the socket but not the upgrade request', async () => {
    const { results, error } = await subscribeOnce('subscription { count }', 'good');
    expect(error, JSON.stringify({ code: (error as { code?: number })?.code, reason: (error as { reason?: string })?.reason })).toBeUndefined();
    expect(results.map((result) => result.data?.['count'])).toEqual([1, 2, 3]);
    expect(contexts.at(-1)?.extra.socket).toBeInstanceOf(WebSocket);
    expect(Object.keys(contexts.at(-1)!.extra)).toEqual(['socket']);
  });

  it('given a refused token, then the socket is closed with 4403', async () => {
    const { error } = await subscribeOnce('subscription { count }', 'bad');
    expect((error as { code?: number }).code).toBe(4403);
  });

  it('given a subscribe whose handling throws something that is not a GraphQL error, then the socket is closed with 4500', async () => {
    const code = await closeCodeOf('graphql-transport-ws', {
      init: { token: 'good' },
      messages: [JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { count } # boom' } })],
    });
    expect(code).toBe(4500);
  });

  it('given a client without the graphql-transport-ws subprotocol, then it is closed with 4406', async () => {
    expect(await closeCodeOf(undefined, {})).toBe(4406);
  });

  it('given a message that is not JSON, then the socket is closed with 4400', async () => {
    expect(await closeCodeOf('graphql-transport-ws', { messages: ['{ not json'] })).toBe(4400);
  });
});
