/**
 * The GraphiQL page served at `/graphiql`. Every script and stylesheet comes from the gateway
 * itself (`/graphiql/assets/…`, files of npm packages): nothing loads from the internet, and
 * the Content-Security-Policy sent with the page (see routes.ts) forbids it.
 */

export const ASSET_PREFIX = '/graphiql/assets';

export const DEFAULT_HEADERS = `{
  "Authorization": "Bearer <paste a token: npm run token -- --role passenger --sub p1>"
}`;

export const DEFAULT_QUERY = `# Happyride Graph explorer
# GraphiQL served by the gateway itself: nothing loads from the internet.
#
# 1. Make a token:
#      npm run token -- --role passenger --sub p1
#    and paste it into the Headers tab below, after "Bearer ".
# 2. Run with Ctrl-Enter or the ▶ button.
#    Queries and mutations: HTTP POST to /graphql with those headers.
#    Subscriptions: graphql-ws on the same /graphql, with the
#    Authorization header as the connection token.
#
# Try, one at a time:
#   mutation { registerPassenger(input: { name: "Ada" }) { id name } }
#   mutation {
#     requestTrip(input: {
#       start: { lng: 116.3975, lat: 39.9087 }
#       end: { lng: 116.4066, lat: 39.8822 }
#     }) { id state }
#   }
#   subscription { tripUpdates(tripId: "<trip id>") { id state } }

query Me {
  passenger(id: "p1") {
    id
    name
    registeredAt
  }
}
`;

/** JSON that is safe inside an inline <script>: no `</script>`, no `<!--`, no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The page's own script (runs in the browser). The fetcher sends queries and mutations by HTTP
 * POST to `/graphql` with the headers editor's headers, and subscriptions over graphql-ws to
 * `ws(s)://<this host>/graphql` with `connectionParams: { authorization }`, one client per
 * distinct token. A header still holding the placeholder (`<…>`) is not sent.
 */
const browserScript = String.raw`
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('explorer-config').textContent);
  var params = new URLSearchParams(window.location.search);
  var wsUrl = (window.location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + window.location.host + config.endpoint;

  function isPlaceholder(value) {
    return /<[^>]*>/.test(String(value));
  }
  function usableHeaders(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (name) {
      var value = headers[name];
      if (value === undefined || value === null || isPlaceholder(value)) return;
      out[name] = String(value);
    });
    return out;
  }
  function authorizationOf(headers) {
    var name = Object.keys(headers).find(function (key) { return key.toLowerCase() === 'authorization'; });
    return name ? headers[name] : '';
  }
  function withoutComments(query) {
    return String(query || '').replace(/#[^\n]*/g, '');
  }
  // GraphiQL derives operationName (and its parsed document) from the editor shortly after each
  // edit, so a run right after an edit may carry the previous one: the query text decides.
  function operationKeyword(query, name) {
    var match = new RegExp('\\b(query|mutation|subscription)\\s+' + name + '\\b').exec(withoutComments(query));
    return match ? match[1] : null;
  }
  function namesAnOperation(query, name) {
    return Boolean(operationKeyword(query, name));
  }
  function operationType(params) {
    var named = params.operationName ? operationKeyword(params.query, params.operationName) : null;
    if (named) return named;
    var first = /^\s*(query|mutation|subscription)?/.exec(withoutComments(params.query));
    return (first && first[1]) || 'query';
  }
  function request(params) {
    var operationName = params.operationName && namesAnOperation(params.query, params.operationName) ? params.operationName : undefined;
    return { query: params.query, variables: params.variables || undefined, operationName: operationName };
  }

  var clients = new Map();
  function wsClient(authorization) {
    var client = clients.get(authorization);
    if (!client) {
      client = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        retryAttempts: 0,
        connectionParams: authorization ? { authorization: authorization } : {},
      });
      clients.set(authorization, client);
    }
    return client;
  }
  function describeError(error) {
    if (Array.isArray(error)) return { errors: error };
    if (error && typeof error.code === 'number' && 'reason' in error) {
      return { errors: [{ message: 'The socket closed: ' + error.code + (error.reason ? ' ' + error.reason : '') }] };
    }
    return { errors: [{ message: error && error.message ? error.message : String(error) }] };
  }

  function fetcher(graphQLParams, opts) {
    var headers = usableHeaders(opts && opts.headers);
    if (operationType(graphQLParams) === 'subscription') {
      var client = wsClient(authorizationOf(headers));
      // An observable: GraphiQL shows every result as it arrives and unsubscribes on stop.
      return {
        subscribe: function (observer) {
          var failed = false;
          var dispose = client.subscribe(
            request(graphQLParams),
            {
              next: function (result) { observer.next(result); },
              error: function (error) {
                if (failed) return;
                failed = true;
                observer.next(describeError(error));
                observer.complete();
              },
              complete: function () { observer.complete(); },
            },
          );
          return { unsubscribe: dispose };
        },
      };
    }
    return fetch(config.endpoint, {
      method: 'POST',
      headers: Object.assign({ 'content-type': 'application/json', accept: 'application/json' }, headers),
      body: JSON.stringify(request(graphQLParams)),
      credentials: 'same-origin',
    }).then(function (response) {
      return response.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          return { errors: [{ message: 'HTTP ' + response.status + ': ' + text.slice(0, 500) }] };
        }
      });
    });
  }

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      defaultHeaders: config.defaultHeaders,
      query: params.get('query') || undefined,
      variables: params.get('variables') || undefined,
      headers: params.get('headers') || undefined,
      operationName: params.get('operationName') || undefined,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
      isHeadersEditorEnabled: true,
    }),
  );
})();
`;

export interface ExplorerPageOptions {
  nonce: string;
  /** The GraphQL endpoint path on this host. */
  endpoint?: string;
}

export function explorerPage({ nonce, endpoint = '/graphql' }: ExplorerPageOptions): string {
  const config = scriptJson({ endpoint, defaultQuery: DEFAULT_QUERY, defaultHeaders: DEFAULT_HEADERS });
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>Happyride Graph · GraphiQL</title>
    <link rel="stylesheet" href="${ASSET_PREFIX}/graphiql.min.css" />
    <style nonce="${nonce}">
      html, body { height: 100%; margin: 0; }
      #graphiql { height: 100vh; }
      .loading { font: 14px/1.5 system-ui, sans-serif; padding: 2rem; color: #555; }
    </style>
  </head>
  <body>
    <div id="graphiql"><p class="loading">Loading GraphiQL…</p></div>
    <script type="application/json" id="explorer-config">${config}</script>
    <script src="${ASSET_PREFIX}/react.production.min.js"></script>
    <script src="${ASSET_PREFIX}/react-dom.production.min.js"></script>
    <script src="${ASSET_PREFIX}/graphiql.min.js"></script>
    <script src="${ASSET_PREFIX}/graphql-ws.min.js"></script>
    <script nonce="${nonce}">${browserScript}</script>
  </body>
</html>
`;
}
