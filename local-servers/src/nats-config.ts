/** nats-server's configuration for a local run. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes nats-server's configuration beside its store (JSON is valid NATS config syntax). */
export function natsConfigFile(storeDir: string, port: number, syncInterval: string): string {
  const file = join(storeDir, 'nats-server.conf');
  const config = { server_name: 'happyride-local', listen: `127.0.0.1:${port}`, jetstream: { store_dir: storeDir, sync_interval: syncInterval } };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}
