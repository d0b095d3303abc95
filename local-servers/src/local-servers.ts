/** Starts nats-server (JetStream) and FerretDB on free loopback ports, or uses external ones. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownedTempDirs, stopServer, type Managed } from './child-processes.ts';
import { ensureFerretdb } from './ferretdb-binary.ts';
import { natsClusterSize, startNatsNodes, type NatsNode } from './nats-nodes.ts';
import { ensureNatsServer } from './nats-server-binary.ts';
import { mongoReady } from './readiness.ts';
import { startServer } from './start-server.ts';
import { defaultLog, nonEmpty } from './text.ts';

export interface LocalServers {
  /**
   * e.g. `nats://local-admin:<secret>@127.0.0.1:4222`: the admin user (every right) of a server
   * started here, whose secret is new on each start; the services get users of their own
   * (`localNatsServiceUrl`, `nats-users.ts`). A cluster's URL lists every node, comma-separated.
   * An external `NATS_URL` is returned as it is.
   */
  natsUrl: string;
  /** Everything the nats-server started here printed (undefined for an external one or a cluster: see `natsNodes`). */
  natsLogFile?: string;
  /** The nats-server processes started here (none for an external one): to kill and restart one, to read its log. */
  natsNodes: readonly NatsNode[];
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
  /**
   * 1 (the default): one nats-server. 3 to 5: a JetStream cluster of that many nodes over
   * loopback routes, each with its own store (`<dataDir>/nats-cluster-<n>/node-<i>`).
   */
  natsCluster?: number;
}

/**
 * Starts nats-server (JetStream) and FerretDB on free loopback ports, unless
 * `NATS_URL` / `MONGODB_URL` point to running servers already.
 */
export async function startLocalServers(options: StartOptions = {}): Promise<LocalServers> {
  const log = options.log ?? defaultLog;
  const env = options.env ?? process.env;
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const clusterSize = natsClusterSize(options.natsCluster, 'natsCluster');
  const externalNats = nonEmpty(env['NATS_URL']);
  const externalMongo = nonEmpty(env['MONGODB_URL']);

  const ferretdbBin = externalMongo === undefined ? await ensureFerretdb(log) : undefined;
  const natsBin = externalNats === undefined ? await ensureNatsServer(log) : undefined;

  const ownsDataDir = options.dataDir === undefined && (natsBin !== undefined || ferretdbBin !== undefined);
  const dataDir = options.dataDir ?? (ownsDataDir ? await mkdtemp(join(tmpdir(), 'happyride-servers-')) : '');
  if (ownsDataDir) ownedTempDirs.add(dataDir);

  const servers: Managed[] = [];
  const natsNodes: NatsNode[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all([...servers.map(stopServer), ...natsNodes.map((node) => node.stop())]);
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
    externalNats === undefined
      ? startNats({ bin: natsBin ?? '', storeDir: join(dataDir, clusterSize === 1 ? 'nats' : `nats-cluster-${clusterSize}`), size: clusterSize, syncInterval: options.natsSyncInterval ?? 'always', timeoutMs, log }, natsNodes)
      : { url: externalNats },
    externalMongo ?? startFerretdb(ferretdbBin ?? '', join(dataDir, 'ferretdb'), timeoutMs, log, servers),
  ]);
  if (nats.status === 'rejected' || mongo.status === 'rejected') {
    await stop();
    const errors = [nats, mongo].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(String).join('\n'));
  }
  return {
    natsUrl: nats.value.url,
    ...(natsNodes.length === 1 && natsNodes[0] ? { natsLogFile: natsNodes[0].logFile } : {}),
    natsNodes,
    mongoUrl: mongo.value,
    stop,
  };
}

async function startNats(options: Parameters<typeof startNatsNodes>[0], nodes: NatsNode[]): Promise<{ url: string }> {
  const started = await startNatsNodes(options);
  nodes.push(...started.nodes);
  return { url: started.url };
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
