import { defineConfig } from 'vitest/config';

const exclude = ['**/node_modules/**', '.cache/**', '.data/**'];
/**
 * One graphql for all: Node loads its CommonJS build for every package (@apollo/subgraph's
 * schemas included), as in the services; vite would give our own imports the ESM build, a second
 * realm whose `isObjectType` refuses the other's types.
 */
const oneGraphql = { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] };

/**
 * Three tiers, by file suffix: `.unit.spec.ts` is pure and takes milliseconds;
 * `.int.spec.ts` runs against a real nats-server and FerretDB; `.e2e.spec.ts` starts the
 * gateway, subgraphs and workers as real processes. Both real tiers share one pair of
 * servers per run (or `NATS_URL` / `MONGODB_URL`), started by the global setup.
 */
export default defineConfig({
  test: {
    projects: [
      { resolve: oneGraphql, test: { name: 'unit', include: ['**/*.unit.spec.ts'], exclude } },
      {
        resolve: oneGraphql,
        test: {
          name: 'int',
          include: ['**/*.int.spec.ts'],
          exclude,
          globalSetup: ['local-servers/src/vitest-global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 600_000,
        },
      },
      {
        resolve: oneGraphql,
        test: {
          name: 'e2e',
          include: ['**/*.e2e.spec.ts'],
          exclude,
          globalSetup: ['local-servers/src/vitest-global-setup.ts'],
          // A nats-server per test file: each file's systems get a fresh event log.
          setupFiles: ['tests/support/own-event-log.ts'],
          testTimeout: 60_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
