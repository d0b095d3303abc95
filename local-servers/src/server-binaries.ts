import { ensureFerretdb } from './ferretdb-binary.ts';
import { ensureNatsServer } from './nats-server-binary.ts';
import { defaultLog } from './text.ts';

/** Builds both binaries if they are not cached yet and returns their paths. */
export async function ensureServerBinaries(
  log: (line: string) => void = defaultLog,
): Promise<{ natsServer: string; ferretdb: string }> {
  // Sequential on purpose: each `go` build already uses every core.
  const ferretdb = await ensureFerretdb(log);
  const natsServer = await ensureNatsServer(log);
  return { natsServer, ferretdb };
}
