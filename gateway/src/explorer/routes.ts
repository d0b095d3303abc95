import type { Express } from 'express';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ASSET_PREFIX, explorerPage } from './page.ts';

const require = createRequire(import.meta.url);

/** A file inside an installed npm package (resolved through its package.json, which every package exports). */
function packageFile(pkg: string, file: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), file);
}

/** The only files served under `/graphiql/assets/`: exact names, never a directory. */
const assets: Record<string, { path: string; type: string }> = {
  'react.production.min.js': { path: packageFile('react', 'umd/react.production.min.js'), type: 'text/javascript' },
  'react-dom.production.min.js': { path: packageFile('react-dom', 'umd/react-dom.production.min.js'), type: 'text/javascript' },
  'graphiql.min.js': { path: packageFile('graphiql', 'graphiql.min.js'), type: 'text/javascript' },
  'graphiql.min.js.map': { path: packageFile('graphiql', 'graphiql.min.js.map'), type: 'application/json' },
  'graphiql.min.css': { path: packageFile('graphiql', 'graphiql.min.css'), type: 'text/css' },
  'graphql-ws.min.js': { path: packageFile('graphql-ws', 'umd/graphql-ws.min.js'), type: 'text/javascript' },
};

/**
 * Content-Security-Policy of the page: scripts, styles and connections only to this host
 * ('self' covers ws:/wss: to the same host), fonts and images inline. The browser refuses
 * anything else, so the explorer works offline and cannot leak a token elsewhere.
 */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    // React and CodeMirror set style attributes.
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * `GET /graphiql`: a self-hosted GraphiQL for the gateway's graph, its assets taken from the
 * `react`, `react-dom`, `graphiql` and `graphql-ws` packages and served from here.
 */
export function explorerRoutes(app: Express): void {
  app.get('/graphiql', (_req, res) => {
    const nonce = randomBytes(16).toString('base64');
    res
      .status(200)
      .set({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': contentSecurityPolicy(nonce),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      })
      .send(explorerPage({ nonce }));
  });
  app.get(`${ASSET_PREFIX}/:file`, (req, res, next) => {
    const asset = Object.hasOwn(assets, req.params.file) ? assets[req.params.file] : undefined;
    if (!asset) return next();
    res.sendFile(asset.path, {
      headers: { 'content-type': asset.type, 'x-content-type-options': 'nosniff' },
      maxAge: '1h',
    });
  });
}
