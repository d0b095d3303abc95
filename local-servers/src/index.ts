/**
 * Builds (through the Go module proxy), caches and starts real servers on
 * loopback for local development and tests:
 *
 * - nats-server (JetStream enabled), `go install`ed at a pinned version;
 * - FerretDB (MongoDB wire protocol, SQLite backend), embedded in the tiny Go
 *   program in `local-servers/ferretdb/`.
 *
 * Binaries are cached in `<repo>/.cache/bin/` under versioned names, so a
 * rebuild happens only when a pin changes. Builds are serialized between
 * processes with a lock file and land through an atomic rename.
 */
export { startLocalServers, type LocalServers, type StartOptions } from './local-servers.ts';
export { LOCAL_NATS_ADMIN, localNatsServiceUrl } from './nats-users.ts';
export { eventStreamReplicasFor, LOCAL_NATS_CLUSTER, natsClusterSize, type NatsNode } from './nats-nodes.ts';
export { ensureServerBinaries } from './server-binaries.ts';
export { ensureNatsServer, NATS_SERVER_VERSION } from './nats-server-binary.ts';
export { ensureFerretdb, FERRETDB_VERSION } from './ferretdb-binary.ts';
// For the other Go-built servers (`stripe-mock.ts`): the same cache, lock, build and process handling.
export { buildOnce, CACHE_DIR } from './build-cache.ts';
export { findGo, goEnv } from './go-toolchain.ts';
export { run, spawnServer, stopServer, type Managed } from './child-processes.ts';
export { freePort } from './start-server.ts';
export { tcpProbe } from './readiness.ts';
