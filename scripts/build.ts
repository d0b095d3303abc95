/**
 * `npm run build` (after the type-check): bundles every service, worker and production script
 * into one ES module each under `dist/`, so they start with plain `node dist/<name>.js`.
 *
 * Why esbuild bundles rather than `tsc` emitting a file per module: our workspace packages
 * export their TypeScript sources (`"exports": "./src/index.ts"`) so that tests and development
 * run them through tsx with no build at all; a bundle resolves those sources once at build time
 * and leaves every third-party package as an ordinary `import` of `node_modules` (installed with
 * `npm ci --omit=dev` in the image). Type-checking stays with `tsc --noEmit`.
 *
 * `import.meta.url` in a bundled source file is rewritten to that file's own URL (as seen from
 * `dist/`), so code that reads a file beside it (`schema.graphql`, the supergraph, the FerretDB
 * sources) finds it wherever the repository or image puts `dist/`.
 */
import { build, type Plugin } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allServices } from './system.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const outdir = `${root}dist`;

/** Production entry points beside the services: name in dist/ → source. */
const scripts: Record<string, string> = {
  start: 'scripts/start.ts',
  bootstrap: 'scripts/bootstrap.ts',
  token: 'scripts/token.ts',
  'projections-rebuild': 'scripts/rebuild-projection.ts',
  'dead-letters-retry': 'scripts/dead-letters-retry.ts',
  healthcheck: 'scripts/healthcheck.ts',
};

export const entryPoints: Record<string, string> = {
  ...Object.fromEntries(allServices.map((service) => [service.name, service.entry])),
  ...scripts,
};

/**
 * Third-party packages stay imports of node_modules; our own workspaces are bundled. A package
 * npm installed under a workspace's own node_modules (a version the root could not hoist) is
 * imported by its path from dist/, which `npm ci` lays out the same way in the image.
 */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@happyride/') || args.pluginData === 'resolving') return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
      const hoisted = resolved.errors.length > 0 || resolved.external || resolved.path.startsWith(`${root}node_modules/`);
      return { path: hoisted ? args.path : relative(outdir, resolved.path).split('\\').join('/'), external: true };
    });
  },
};

/** `import.meta.url` of a bundled file means that source file, not the bundle. */
const sourceFileUrls: Plugin = {
  name: 'source-file-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'ts' };
      const fromDist = relative(outdir, args.path).split('\\').join('/');
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

export async function buildAll(): Promise<void> {
  await rm(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [externalPackages, sourceFileUrls],
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  await buildAll();
  console.log(`build: ${Object.keys(entryPoints).length} entry points → dist/ in ${Date.now() - started} ms`);
}
