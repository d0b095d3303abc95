/** nats-server's configuration for a local run: loopback, JetStream, and the users of `nats-users.ts`. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsServerPermissions } from '@happyride/eventstore/nats-permissions';
import type { NatsUser } from './nats-users.ts';

/** One node of a local JetStream cluster: its route port, and every node's (its own among them). */
export interface NatsClusterNode {
  /** The cluster's name (the same on every node). */
  name: string;
  /** This node's `server_name`: unique in the cluster, JetStream's peer name. */
  serverName: string;
  routePort: number;
  routePorts: readonly number[];
  /** The user routes authenticate with (`nats-users.ts`: `localNatsRouteUser`). */
  routeUser: NatsUser;
}

export interface NatsConfigOptions {
  storeDir: string;
  port: number;
  /** JetStream's `sync_interval` (see `StartOptions.natsSyncInterval`). */
  syncInterval: string;
  users: readonly NatsUser[];
  /** Absent: a server on its own. */
  cluster?: NatsClusterNode;
}

/** The configuration as an object (JSON is valid NATS config syntax). */
export function natsConfig({ storeDir, port, syncInterval, users, cluster }: NatsConfigOptions) {
  return {
    server_name: cluster?.serverName ?? 'happyride-local',
    listen: `127.0.0.1:${port}`,
    jetstream: { store_dir: storeDir, sync_interval: syncInterval },
    authorization: {
      // Seconds from a client's TCP connect to its CONNECT: nats-server's default (2) is short for
      // a Node process starting on a loaded 2-core machine (seen: "Authentication Timeout").
      timeout: 10,
      users: users.map(({ user, password, permissions }) => ({ user, password, ...(permissions ? { permissions: natsServerPermissions(permissions) } : {}) })),
    },
    ...(cluster === undefined ? {} : { cluster: clusterBlock(cluster) }),
  };
}

/** Routes on loopback, each node dialling every other; routes need a password of their own. */
function clusterBlock({ name, routePort, routePorts, routeUser }: NatsClusterNode) {
  const credentials = `${encodeURIComponent(routeUser.user)}:${encodeURIComponent(routeUser.password)}`;
  return {
    name,
    listen: `127.0.0.1:${routePort}`,
    authorization: { user: routeUser.user, password: routeUser.password },
    routes: routePorts.filter((port) => port !== routePort).map((port) => `nats-route://${credentials}@127.0.0.1:${port}`),
  };
}

/** Writes nats-server's configuration beside its store, readable by its owner only (it holds passwords). */
export function natsConfigFile(options: NatsConfigOptions): string {
  const file = join(options.storeDir, 'nats-server.conf');
  writeFileSync(file, JSON.stringify(natsConfig(options), null, 2), { mode: 0o600 });
  chmodSync(file, 0o600); // a file left by an earlier run keeps its mode otherwise
  return file;
}
