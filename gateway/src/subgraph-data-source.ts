import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CORRELATION_HEADER, IDEMPOTENCY_KEY_HEADER, serviceUnavailable } from '@happyride/platform';
import type { GatewayContext } from './context.ts';
import { SubgraphTimeoutError, subgraphFetcher } from './subgraph-fetcher.ts';

/**
 * Calls one subgraph, forwarding the caller's token (each subgraph verifies it again) and the
 * request's correlation id, so the subgraph's logs and events carry the same id, and the
 * client's `Idempotency-Key` (the write subgraphs make a retried mutation exact with it). A subgraph
 * that cannot be reached (or answers 5xx) is `SERVICE_UNAVAILABLE` naming it, never its URL.
 *
 * Requests go through `subgraphFetcher` (node:http, connections kept alive) rather than Apollo's
 * default make-fetch-happen agent, and each gives up after `timeoutMs`: a subgraph that hangs
 * (stopped, not dead) answers `SERVICE_UNAVAILABLE` in bounded time instead of holding the
 * caller's request open. A mutation that timed out may still have been applied: the client
 * retries it with the same `Idempotency-Key`.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    /** The subgraph's name in the supergraph, for errors a client may read. */
    readonly name: string,
    url: string | undefined,
    /** How long one subgraph request (answer and body) may take. */
    readonly timeoutMs = 10_000,
  ) {
    super({ ...(url === undefined ? {} : { url }), fetcher: subgraphFetcher({ timeoutMs }) });
  }

  override didEncounterError(error: Error, _request: unknown, response?: { status: number }): void {
    if (error instanceof SubgraphTimeoutError) throw serviceUnavailable(`The ${this.name} service did not answer within ${this.timeoutMs} ms; try again shortly.`);
    if (!response || response.status >= 500) throw serviceUnavailable(`The ${this.name} service is unavailable; try again shortly.`);
    throw error;
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const { request, context } = options;
    if (!('correlationId' in context)) return;
    const key = 'incomingRequestContext' in options ? options.incomingRequestContext.request.http?.headers.get(IDEMPOTENCY_KEY_HEADER) : undefined;
    if (key != null) request.http?.headers.set(IDEMPOTENCY_KEY_HEADER, key);
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
    request.http?.headers.set(CORRELATION_HEADER, context.correlationId);
    if (context.traceparent) request.http?.headers.set('traceparent', context.traceparent);
  }
}

