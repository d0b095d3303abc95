import { ApolloServer, type ApolloServerOptions, type BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import express, { type Express } from 'express';
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyErrorAnswer, graphqlEndpoint, graphqlOverHttp, isGraphqlPath, type BodyError, type HttpContextArgument } from './graphql-over-http.ts';
import { formatErrorFor } from './graphql-errors.ts';
import { inputGuardPlugin } from './input-guard.ts';
import type { Logger } from './logger.ts';
import { createMetricsRegistry, operationMetricsPlugin, type Registry } from './metrics.ts';
import { passTraceparent, tracingPlugin } from './tracing.ts';

export const CORRELATION_HEADER = 'x-correlation-id';

export interface GraphQLServiceOptions<C extends BaseContext> {
  name: string;
  port: number;
  host?: string;
  logger: Logger;
  apollo: Omit<ApolloServerOptions<C>, 'formatError' | 'plugins'> & { plugins?: ApolloServerOptions<C>['plugins'] };
  context: (args: HttpContextArgument & { correlationId: string }) => Promise<C>;
  /** `/ready` answers 200 when this resolves to null, 503 with the reason otherwise. */
  readiness?: () => Promise<string | null>;
  exposeInternalErrors?: boolean;
  /** Extra routes (metrics, explorer) before `/graphql`. */
  routes?: (app: Express) => void;
  landingPage?: boolean;
  maxBodyBytes?: number;
  /** The process's metrics registry; one is made when not given. Served at `/metrics`. */
  metrics?: Registry;
  /** `/metrics` on this listener (default true); the gateway serves it on an admin port instead. */
  metricsRoute?: boolean;
}

export interface RunningService<C extends BaseContext = BaseContext> {
  url: string;
  port: number;
  httpServer: Server;
  apollo: ApolloServer<C>;
  stop(): Promise<void>;
}

/**
 * Serves one GraphQL schema (a subgraph, or the gateway) over HTTP at `/graphql`, with
 * `/health` (the process lives) and `/ready` (its dependencies answer), one error mapper,
 * correlation ids (taken from `x-correlation-id` or made here, echoed in the response) and a
 * graceful stop that drains open requests.
 */
export async function startGraphQLService<C extends BaseContext>(options: GraphQLServiceOptions<C>): Promise<RunningService<C>> {
  const { logger } = options;
  const app = express();
  app.disable('x-powered-by');
  // No ETag: Express would hash every GraphQL answer (SHA-1 of the body, seen in the gateway's CPU
  // profile) for a conditional GET no GraphQL client makes.
  app.disable('etag');
  const metrics = options.metrics ?? createMetricsRegistry(options.name);
  // `/graphql` itself skips Express (see graphqlEndpoint, made below, before the server listens);
  // every other path, and `/graphql/…`, is the app's.
  const httpServer = createServer((req, res) => (isGraphqlPath(req.url) ? graphql(req, res) : app(req, res)));
  // Outlive the gateway's pooled keep-alive sockets: a server closing an idle socket just as the
  // gateway reuses it answers "socket hang up" (ECONNRESET) to a perfectly good request.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  // What Node refuses before any route (a URL or headers over its limit, malformed HTTP) answers
  // as JSON with a code too, not an empty 431 / 400 (found by the gateway fuzzer: a long GET).
  httpServer.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      errors: [{ message: tooLarge ? 'The request line or headers are too large: send the query in a POST body.' : 'Malformed HTTP request.', extensions: { code: tooLarge ? 'REQUEST_HEADERS_TOO_LARGE' : 'BAD_REQUEST' } }],
    });
    const status = tooLarge ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  const server = new ApolloServer<C>({
    ...options.apollo,
    formatError: formatErrorFor({
      exposeInternals: options.exposeInternalErrors ?? false,
      onInternalError: (error) => logger.error({ err: error }, 'unexpected error in a GraphQL operation'),
    }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Nothing phones home, even with APOLLO_KEY set.
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      operationMetricsPlugin<C>(metrics),
      tracingPlugin<C>(options.name),
      // Every ID argument is an id in the id format, at the gateway and in every subgraph.
      inputGuardPlugin<C>(),
      ...(options.landingPage === false ? [ApolloServerPluginLandingPageDisabled()] : []),
      ...(options.apollo.plugins ?? []),
    ],
  } as ApolloServerOptions<C>);
  await server.start();

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: options.name });
  });
  app.get('/ready', async (_req, res) => {
    const reason = options.readiness ? await options.readiness().catch((error: unknown) => String(error)) : null;
    if (reason) res.status(503).json({ status: 'unavailable', reason });
    else res.json({ status: 'ready' });
  });
  if (options.metricsRoute !== false) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.metrics());
    });
  }
  options.routes?.(app);

  const context = async (args: HttpContextArgument): Promise<C> => {
    const header = args.req.headers[CORRELATION_HEADER];
    const correlationId = typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();
    args.res.setHeader(CORRELATION_HEADER, correlationId);
    const contextValue = await options.context({ ...args, correlationId });
    passTraceparent(args.req.headers.traceparent, contextValue);
    return contextValue;
  };
  const maxBodyBytes = options.maxBodyBytes ?? 1_000_000;
  const handler = graphqlOverHttp(server, context);
  const graphql = graphqlEndpoint(handler, { maxBodyBytes, onError: (error) => logger.error({ err: error }, 'unexpected error answering /graphql') });
  app.use('/graphql', express.json({ limit: maxBodyBytes }), handler);
  // Body parser failures (too large, not JSON) answer as GraphQL errors with a code, never HTML.
  app.use((error: BodyError, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    const answer = bodyErrorAnswer(error, maxBodyBytes);
    if (!answer) return next(error);
    res.status(answer.status).type('application/json').send(answer.body);
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}/graphql`;
  logger.info({ url }, `${options.name} listening`);
  return {
    url,
    port,
    httpServer,
    apollo: server,
    stop: () => server.stop(),
  };
}
