/**
 * Vitest globalSetup: starts nats-server and FerretDB once per test run
 * (unless NATS_URL / MONGODB_URL are set already) and shares their URLs:
 *
 * - `inject('natsUrl')` / `inject('mongoUrl')` in tests;
 * - `process.env.NATS_URL` / `process.env.MONGODB_URL`, inherited by test
 *   workers and any child process they start.
 *
 * Use: `test: { globalSetup: ['local-servers/src/vitest-global-setup.ts'] }`.
 */
import type { TestProject } from 'vitest/node';
import { startLocalServers } from './index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string;
    mongoUrl: string;
    /** True when this setup started nats-server itself (no external `NATS_URL`). */
    natsStartedLocally: boolean;
    /** True when this setup started the embedded FerretDB (no external `MONGODB_URL`). */
    mongoStartedLocally: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const previous = { NATS_URL: process.env['NATS_URL'], MONGODB_URL: process.env['MONGODB_URL'] };
  const servers = await startLocalServers();

  project.provide('natsUrl', servers.natsUrl);
  project.provide('mongoUrl', servers.mongoUrl);
  project.provide('natsStartedLocally', !previous.NATS_URL);
  project.provide('mongoStartedLocally', !previous.MONGODB_URL);
  process.env['NATS_URL'] = servers.natsUrl;
  process.env['MONGODB_URL'] = servers.mongoUrl;

  return async () => {
    await servers.stop();
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
