import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SubgraphTimeoutError, subgraphFetcher } from './subgraph-fetcher.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? (server.closeAllConnections(), server.close(() => resolve())) : resolve())));

/** A real HTTP server on a loopback port answering with `handler`. */
async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe('subgraphFetcher', () => {
  it('given a subgraph answering JSON, then status, headers and body come back, and two requests share one kept-alive connection', async () => {
    const peers = new Set<number>();
    const url = await serve((request, response) => {
      peers.add(request.socket.remotePort!);
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=5' }).end(JSON.stringify({ data: { echo: body, auth: request.headers.authorization } })));
    });
    const fetcher = subgraphFetcher({ timeoutMs: 2_000 });

    const first = await fetcher(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: '{"query":"{a}"}' });
    const second = await fetcher(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

    expect(first).toMatchObject({ ok: true, status: 200, url });
    expect(first.headers.get('Content-Type')).toBe('application/json');
    expect(first.headers.get('cache-control')).toBe('max-age=5');
    expect(await first.json()).toEqual({ data: { echo: '{"query":"{a}"}', auth: 'Bearer t' } });
    expect(JSON.parse(await second.text())).toEqual({ data: { echo: '{}' } });
    expect(peers.size).toBe(1);
  });

  it('given a subgraph that answers 503, then the response says so (not ok), for the data source to name the subgraph', async () => {
    const url = await serve((_request, response) => response.writeHead(503, { 'content-type': 'text/plain' }).end('busy'));
    const response = await subgraphFetcher({ timeoutMs: 2_000 })(url, { method: 'POST', body: '{}' });
    expect(response).toMatchObject({ ok: false, status: 503, statusText: 'Service Unavailable' });
    expect(await response.text()).toBe('busy');
  });

  it('given a subgraph that never answers, then the request fails with SubgraphTimeoutError after timeoutMs', async () => {
    const url = await serve(() => {});
    const started = performance.now();
    await expect(subgraphFetcher({ timeoutMs: 300 })(url, { method: 'POST', body: '{}' })).rejects.toBeInstanceOf(SubgraphTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('given a subgraph that stops halfway through its body, then the request fails with SubgraphTimeoutError too', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"data":');
    });
    await expect(subgraphFetcher({ timeoutMs: 300 })(url, { method: 'POST', body: '{}' })).rejects.toBeInstanceOf(SubgraphTimeoutError);
  });

  it('given nothing listening, then the connection error comes back as it is (the data source answers SERVICE_UNAVAILABLE)', async () => {
    const url = await serve(() => {});
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    await expect(subgraphFetcher({ timeoutMs: 2_000 })(url, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
