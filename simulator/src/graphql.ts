import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLError {
  message: string;
  extensions?: { code?: string };
}

/** A GraphQL error the simulator reports and survives (the run goes on). */
export class RequestFailed extends Error {
  constructor(
    readonly operation: string,
    readonly errors: readonly GraphQLError[],
  ) {
    super(`${operation}: ${errors.map((e) => `${e.extensions?.code ?? 'ERROR'} ${e.message}`).join('; ')}`);
  }
  get code() {
    return this.errors[0]?.extensions?.code;
  }
}

/** One app's connection to the gateway: HTTP for queries and mutations, graphql-ws for subscriptions. */
export class AppConnection {
  readonly socket: Client;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {
    this.socket = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 5,
      connectionParams: { authorization: `Bearer ${token}` },
    });
  }

  async request<T>(operation: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: GraphQLError[] };
    if (body.errors?.length) throw new RequestFailed(operation, body.errors);
    if (!body.data) throw new RequestFailed(operation, [{ message: `HTTP ${response.status} without data` }]);
    return body.data;
  }

  /** Subscribes; returns the function that ends the subscription. */
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (error: unknown) => void): () => void {
    return this.socket.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors?.length) onError(new RequestFailed('subscription', result.errors as GraphQLError[]));
          else if (result.data) onData(result.data as T);
        },
        error: onError,
        complete: () => {},
      },
    );
  }

  async close() {
    await this.socket.dispose();
  }
}
