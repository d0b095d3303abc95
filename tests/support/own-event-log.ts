/**
 * e2e setup file: each test file gets a nats-server (JetStream) of its own, so every system a
 * file starts has a fresh event log and fresh durable consumers. The e2e systems would
 * otherwise share the run's server: a saga or projector consumer left behind by one file
 * (its backlog, its position) would be inherited by the next file's workers. FerretDB stays
 * shared (each system has a database of its own). With an external `NATS_URL`, nothing starts.
 */
import { startLocalServers, type LocalServers } from '@happyride/local-servers';
import { afterAll, beforeAll, inject } from 'vitest';

let servers: LocalServers | undefined;

beforeAll(async () => {
  if (!inject('natsStartedLocally')) return;
  servers = await startLocalServers({ env: { MONGODB_URL: inject('mongoUrl') }, log: () => {} });
  process.env['NATS_URL'] = servers.natsUrl;
}, 120_000);

afterAll(async () => {
  await servers?.stop();
});

/** The NATS server of this test file (its own, or the run's external one). */
export const natsUrl = (): string => process.env['NATS_URL'] ?? inject('natsUrl');
