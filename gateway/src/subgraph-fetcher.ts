import type { RemoteGraphQLDataSource } from '@apollo/gateway';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';

type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherResponse = Awaited<ReturnType<Fetcher>>;

/** A subgraph request (answer and body) that took longer than the gateway waits. */
export class SubgraphTimeoutError extends Error {
  override readonly name = 'SubgraphTimeoutError';
}

/**
 * The gateway's fetcher toward its subgraphs: plain `node:http` over kept-alive connections,
 * the whole answer buffered, every request given up after `timeoutMs` (`SubgraphTimeoutError`).
 * Subgraphs answer small JSON documents on a private network: WHATWG fetch's streams (Node's
 * fetch) and make-fetch-happen's agent (Apollo's default, which builds stack traces per request)
 * each cost more CPU per call than the request itself.
 */
export function subgraphFetcher({ timeoutMs }: { timeoutMs: number }): Fetcher {
  // Idle sockets are closed after 30 s, before a subgraph closes them (its keep-alive is 65 s):
  // never a request sent on a socket the server is closing.
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 30_000 });
  return (url, init = {}) =>
    new Promise<FetcherResponse>((resolve, reject) => {
      const request = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          clearTimeout(timer);
          resolve(bufferedResponse(url, response, Buffer.concat(chunks)));
        });
        response.once('error', fail);
      });
      function fail(error: Error) {
        clearTimeout(timer);
        reject(error);
      }
      const timer = setTimeout(() => request.destroy(new SubgraphTimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      request.once('error', fail);
      request.end(init.body);
    });
}

/** What Apollo's data source reads of a response, over a body already read in full. */
function bufferedResponse(url: string, response: IncomingMessage, body: Buffer): FetcherResponse {
  const headers = new Headers();
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = response.statusCode ?? 0;
  const answer: FetcherResponse = {
    bodyUsed: false,
    url,
    redirected: false,
    status,
    ok: status >= 200 && status < 300,
    statusText: response.statusMessage ?? '',
    headers,
    text: async () => body.toString('utf8'),
    json: async () => JSON.parse(body.toString('utf8')) as unknown,
    arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
    clone: () => answer,
  };
  return answer;
}
