/** nats-server's configuration for a local run: loopback, JetStream, and the users of `nats-users.ts`. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { natsServerPermissions } from '@happyride/eventstore/nats-permissions';
import type { NatsUser } from './nats-users.ts';

export interface NatsConfigOptions {
  storeDir: string;
  port: number;
  /** JetStream's `sync_interval` (see `StartOptions.natsSyncInterval`). */
  syncInterval: string;
  users: readonly NatsUser[];
}

/** The configuration as an object (JSON is valid NATS config syntax). */
export function natsConfig({ storeDir, port, syncInterval, users }: NatsConfigOptions) {
  return {
    server_name: 'happyride-local',
    listen: `127.0.0.1:${port}`,
    jetstream: { store_dir: storeDir, sync_interval: syncInterval },
    authorization: {
      users: users.map(({ user, password, permissions }) => ({ user, password, ...(permissions ? { permissions: natsServerPermissions(permissions) } : {}) })),
    },
  };
}

/** Writes nats-server's configuration beside its store, readable by its owner only (it holds passwords). */
export function natsConfigFile(options: NatsConfigOptions): string {
  const file = join(options.storeDir, 'nats-server.conf');
  writeFileSync(file, JSON.stringify(natsConfig(options), null, 2), { mode: 0o600 });
  chmodSync(file, 0o600); // a file left by an earlier run keeps its mode otherwise
  return file;
}
