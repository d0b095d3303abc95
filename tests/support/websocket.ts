import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { until } from './eventually.ts';

export const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/** A real graphql-ws client, as a driver or passenger app would use it. */
export function subscriptionClient(httpUrl: string, token?: string): Client {
  return createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** Collects a subscription's results; `next(n)` waits until n have arrived. */
export function collect<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => void results.push(result),
      error: (error) => void errors.push(error),
      complete: () => void (completed = true),
    },
  );
  return {
    results,
    errors,
    get completed() {
      return completed;
    },
    async next(count: number, timeoutMs?: number) {
      await until(() => results.length >= count || errors.length > 0, { timeoutMs: timeoutMs ?? 10_000, what: `${count} results or an error` });
      return results;
    },
    async settled(timeoutMs?: number) {
      await until(() => errors.length > 0 || completed, { timeoutMs: timeoutMs ?? 10_000, what: 'an error or the end of the subscription' });
    },
    dispose,
  };
}

/** A raw socket speaking graphql-transport-ws by hand, for protocol-level checks (`headers` on the upgrade request). */
export async function rawSocket(httpUrl: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(wsUrl(httpUrl), 'graphql-transport-ws', { headers });
  const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    send: (message: unknown) => socket.send(JSON.stringify(message)),
    messages,
    closed,
    close: () => socket.close(),
  };
}
