import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CORRELATION_HEADER } from '@happyride/platform';
import type { GatewayContext } from './context.ts';

/**
 * Calls one subgraph, forwarding the caller's token (each subgraph verifies it again) and the
 * request's correlation id, so the subgraph's logs and events carry the same id.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    if (!('correlationId' in context)) return;
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
    request.http?.headers.set(CORRELATION_HEADER, context.correlationId);
    if (context.traceparent) request.http?.headers.set('traceparent', context.traceparent);
  }
}
