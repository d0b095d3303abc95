import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a service's context function gets for one HTTP request. */
export interface HttpContextArgument {
  req: IncomingMessage;
  res: ServerResponse;
}

/** A request handler: `(req, res, next)`, as Express and body-parser call it. */
type Handler = (req: IncomingMessage & { body?: unknown }, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Apollo Server as a request handler (what `@as-integrations/express5` does), without its
 * per-request `url.parse` of the path (deprecated in Node 24 and ~70 µs a call) and without
 * `res.send` (Express's content negotiation for a body Apollo has already serialized). Expects
 * the JSON body parsed first (`req.body`). Runs on a plain `node:http` request and response:
 * `graphqlEndpoint` calls it without Express.
 */
export function graphqlOverHttp<C extends BaseContext>(server: ApolloServer<C>, context: (argument: HttpContextArgument) => Promise<C>): Handler {
  return async (req, res, next) => {
    try {
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const url = req.url ?? '';
      const queryStart = url.indexOf('?');
      const response = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: queryStart === -1 ? '' : url.slice(queryStart), body: req.body },
        context: () => context({ req, res }),
      });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') return void res.end(req.method === 'HEAD' ? undefined : response.body.string);
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    } catch (error) {
      next(error);
    }
  };
}

/** What body-parser passes on when it refuses a body (`status` 4xx) or fails. */
export interface BodyError {
  status?: number;
  type?: string;
  message?: string;
}

/**
 * A body the parser refused (too large, not JSON) as a GraphQL error with a code, never HTML;
 * undefined for a failure that is not the client's (status 5xx or none).
 */
export function bodyErrorAnswer(error: BodyError | undefined, maxBodyBytes: number): { status: number; body: string } | undefined {
  if (!error?.status || error.status >= 500) return undefined;
  const code = error.type === 'entity.too.large' ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
  const message = code === 'PAYLOAD_TOO_LARGE' ? `The request body is larger than ${maxBodyBytes} bytes.` : `The request body is not valid JSON.`;
  return { status: error.status, body: JSON.stringify({ errors: [{ message, extensions: { code } }] }) };
}

/** `/graphql` exactly, with or without a query string: the path `graphqlEndpoint` answers. */
export const isGraphqlPath = (url: string | undefined): boolean => url !== undefined && url.startsWith('/graphql') && (url.length === 8 || url.charCodeAt(8) === 63 /* ? */);

/**
 * `/graphql` straight on `node:http`: the JSON body parser, then Apollo, with no Express router in
 * between (its per-request layer matching, prototype swaps and closures were a fifth of what the
 * gateway spent over a stock one on `{ __typename }`). A body the parser refuses answers as
 * `bodyErrorAnswer` says; anything else that fails answers 500 as JSON, given to `onError`.
 */
export function graphqlEndpoint(handler: Handler, { maxBodyBytes, onError }: { maxBodyBytes: number; onError: (error: unknown) => void }) {
  const parseJson = express.json({ limit: maxBodyBytes }) as Handler;
  const fail = (res: ServerResponse, error: unknown) => {
    const answer = bodyErrorAnswer(error as BodyError | undefined, maxBodyBytes);
    if (!answer) onError(error);
    if (res.headersSent) return void res.destroy();
    res.statusCode = answer?.status ?? 500;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(answer?.body ?? JSON.stringify({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    parseJson(req, res, (parseError) => {
      if (parseError) return fail(res, parseError);
      handler(req, res, (error) => fail(res, error));
    });
  };
}
