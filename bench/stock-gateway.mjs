// The reference for `npm run bench:gateway`: a stock @apollo/gateway behind a stock
// @apollo/server (standalone), no plugins of ours, only forwarding the caller's Authorization
// header so the subgraphs answer as they do behind our gateway. Plain JavaScript, started with
// plain node, like the compiled gateway it is measured against.
//   SUPERGRAPH_PATH=… SUBGRAPH_URLS='{"trip-queries":"http://…/graphql",…}' PORT=… node bench/stock-gateway.mjs
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { readFileSync } from 'node:fs';

const urls = JSON.parse(process.env.SUBGRAPH_URLS ?? '{}');
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH, 'utf8'),
  buildService: ({ name, url }) =>
    new RemoteGraphQLDataSource({
      url: urls[name] ?? url,
      willSendRequest({ request, context }) {
        if (context.authorization) request.http?.headers.set('authorization', context.authorization);
      },
    }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(JSON.stringify({ msg: 'stock gateway listening', url }));
