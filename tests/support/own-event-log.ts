/**
 * e2e setup file: each test file gets a nats-server (JetStream) of its own, so every system a
 * file starts has a fresh event log and fresh durable consumers. The e2e systems would
 * otherwise share the run's server: a saga or projector consumer left behind by one file
 * (its backlog, its position) would be inherited by the next file's workers. FerretDB stays
 * shared (each system has a database of its own). With an external `NATS_URL`, nothing starts.
 *
 * The server has the per-service users of `eventstore/src/nats-permissions.ts`, and the
 * launcher gives each service its own: when the file is done, any permission or authorization
 * violation nats-server logged fails it (a service whose rights are too narrow), unless the
 * file breaks them on purpose (`expectNatsViolations`).
 */
import { startLocalServers, type LocalServers } from '@happyride/local-servers';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, inject } from 'vitest';

let servers: LocalServers | undefined;
let violationsExpected = false;

beforeAll(async () => {
  if (!inject('natsStartedLocally')) return;
  servers = await startLocalServers({ env: { MONGODB_URL: inject('mongoUrl') }, log: () => {} });
  process.env['NATS_URL'] = servers.natsUrl;
}, 120_000);

afterAll(async () => {
  const log = servers?.natsLogFile === undefined ? '' : readFileSync(servers.natsLogFile, 'utf8');
  await servers?.stop();
  const violations = log.split('\n').filter((line) => / Violation/.test(line));
  if (violations.length > 0 && !violationsExpected) {
    throw new Error(`nats-server logged ${violations.length} violation(s): a service's NATS rights (eventstore/src/nats-permissions.ts) are too narrow?\n${violations.slice(0, 20).join('\n')}`);
  }
});

/** For a file that breaks the NATS permissions on purpose: its violations do not fail it. */
export function expectNatsViolations(): void {
  violationsExpected = true;
}

/** The NATS server of this test file (its own, or the run's external one). */
export const natsUrl = (): string => process.env['NATS_URL'] ?? inject('natsUrl');
