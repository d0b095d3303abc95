/** Starts nats-server (JetStream) and FerretDB on free loopback ports, or uses external ones. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownedTempDirs, stopServer, type Managed } from './child-processes.ts';
import { ensureFerretdb } from './ferretdb-binary.ts';
import { natsConfigFile } from './nats-config.ts';
import { localNatsAdminUrl, localNatsUsers, newNatsAdminSecret } from './nats-users.ts';
import { ensureNatsServer } from './nats-server-binary.ts';
import { mongoReady, natsReady } from './readiness.ts';
import { startServer } from './start-server.ts';
import { defaultLog, nonEmpty } from './text.ts';

export interface LocalServers {
  /**
   * e.g. `nats://local-admin:<secret>@127.0.0.1:4222`: the admin user (every right) of a server
   * started here, whose secret is new on each start; the services get users of their own
   * (`localNatsServiceUrl`, `nats-users.ts`). An external `NATS_URL` is returned as it is.
   */
  natsUrl: string;
  /** Everything the nats-server started here printed (undefined for an external one). */
  natsLogFile?: string;
  /** e.g. `mongodb://127.0.0.1:27017/` */
  mongoUrl: string;
  /** Stops the servers this call started (never external ones); idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Data directory (`<dataDir>/nats`, `<dataDir>/ferretdb`); default: a fresh temp dir, removed on stop. */
  dataDir?: string;
  /** Progress lines (builds, readiness); default: written to stderr. */
  log?: (line: string) => void;
  /**
   * Where `NATS_URL` / `MONGODB_URL` are looked up; when one is set, that
   * server is used as is and not started (an external NATS has none of our per-service
   * users: every service then connects with that URL). Default: `process.env`. Pass `{}` to
   * always start both.
   */
  env?: Record<string, string | undefined>;
  /** How long each server may take to answer after spawn; default 30 s. */
  readyTimeoutMs?: number;
  /**
   * JetStream's `sync_interval`: `always` (the default) fsyncs every stored message before the
   * publish is acknowledged, so an acknowledged event survives an OS crash; a duration such as
   * `2m` (nats-server's own default) batches fsyncs and may lose the last acknowledged writes.
   */
  natsSyncInterval?: string;
}

/**
 * Starts nats-server (JetStream) and FerretDB on free loopback ports, unless
 * `NATS_URL` / `MONGODB_URL` point to running servers already.
 */
export async function startLocalServers(options: StartOptions = {}): Promise<LocalServers> {
  const log = options.log ?? defaultLog;
  const env = options.env ?? process.env;
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const externalNats = nonEmpty(env['NATS_URL']);
  const externalMongo = nonEmpty(env['MONGODB_URL']);

  const ferretdbBin = externalMongo === undefined ? await ensureFerretdb(log) : undefined;
  const natsBin = externalNats === undefined ? await ensureNatsServer(log) : undefined;

  const ownsDataDir = options.dataDir === undefined && (natsBin !== undefined || ferretdbBin !== undefined);
  const dataDir = options.dataDir ?? (ownsDataDir ? await mkdtemp(join(tmpdir(), 'happyride-servers-')) : '');
  if (ownsDataDir) ownedTempDirs.add(dataDir);

  const servers: Managed[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(servers.map(stopServer));
      if (ownsDataDir) {
        await rm(dataDir, { recursive: true, force: true });
        ownedTempDirs.delete(dataDir);
      }
    })();
    return stopping;
  };

  // Both start in parallel; allSettled so that a failure of one never leaves
  // the other running untracked.
  const [nats, mongo] = await Promise.allSettled([
    externalNats === undefined ? startNats(natsBin ?? '', join(dataDir, 'nats'), options.natsSyncInterval ?? 'always', timeoutMs, log, servers) : { url: externalNats },
    externalMongo ?? startFerretdb(ferretdbBin ?? '', join(dataDir, 'ferretdb'), timeoutMs, log, servers),
  ]);
  if (nats.status === 'rejected' || mongo.status === 'rejected') {
    await stop();
    const errors = [nats, mongo].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(String).join('\n'));
  }
  return {
    natsUrl: nats.value.url,
    ...('logFile' in nats.value ? { natsLogFile: nats.value.logFile } : {}),
    mongoUrl: mongo.value,
    stop,
  };
}

async function startNats(
  bin: string,
  storeDir: string,
  syncInterval: string,
  timeoutMs: number,
  log: (line: string) => void,
  servers: Managed[],
): Promise<{ url: string; logFile: string }> {
  await mkdir(storeDir, { recursive: true });
  const adminSecret = newNatsAdminSecret();
  const logFile = join(storeDir, 'nats-server.log');
  const { server, url } = await startServer(
    'nats-server',
    (port) => {
      const url = localNatsAdminUrl(adminSecret, port);
      return {
        command: bin,
        args: ['-c', natsConfigFile({ storeDir, port, syncInterval, users: localNatsUsers(adminSecret) })],
        url,
        probe: () => natsReady(url),
        logFile,
      };
    },
    timeoutMs,
    log,
  );
  servers.push(server);
  return { url, logFile };
}

async function startFerretdb(
  bin: string,
  sqliteDir: string,
  timeoutMs: number,
  log: (line: string) => void,
  servers: Managed[],
): Promise<string> {
  await mkdir(sqliteDir, { recursive: true });
  const { server, url } = await startServer(
    'ferretdb',
    (port) => {
      const url = `mongodb://127.0.0.1:${port}/`;
      return {
        command: bin,
        args: ['-listen', `127.0.0.1:${port}`, '-sqlite-dir', sqliteDir],
        url,
        probe: () => mongoReady(url, port),
      };
    },
    timeoutMs,
    log,
  );
  servers.push(server);
  return url;
}
