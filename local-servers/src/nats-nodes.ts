/**
 * nats-server for a local run: one server, or a JetStream cluster of 3 to 5 nodes on loopback
 * (routes between every pair, one store each). Every node has the same users (`nats-users.ts`);
 * the URL clients get lists every node. A node can be killed and started again on the same ports
 * with the same store, as a crashed machine would come back (the cluster e2e test does).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnServer, stopServer, type Managed } from './child-processes.ts';
import { natsConfigFile } from './nats-config.ts';
import { localNatsAdminUrl, localNatsRouteUser, localNatsUsers, newNatsAdminSecret } from './nats-users.ts';
import { natsReady, ServerStartError, waitReady } from './readiness.ts';
import { freePort } from './start-server.ts';

/** The cluster's name; its nodes are `happyride-local-1` … */
export const LOCAL_NATS_CLUSTER = 'happyride-local';

/**
 * How many nats-server processes to run: 1 (a server alone) or 3 to 5 (a JetStream cluster: 3
 * survives the loss of one, 5 of two; 2 survives nothing and is refused).
 * @example natsClusterSize(process.env.NATS_CLUSTER, 'NATS_CLUSTER') // 1 when unset
 */
export function natsClusterSize(value: string | number | undefined, name: string): number {
  const raw = typeof value === 'string' ? value.trim() : value;
  if (raw === undefined || raw === '') return 1;
  const size = Number(raw);
  if (size === 1 || (Number.isInteger(size) && size >= 3 && size <= 5)) return size;
  throw new Error(`${name} must be 1 (one nats-server) or 3 to 5 (a JetStream cluster; 2 could not elect a leader once one is down); got ${JSON.stringify(String(raw))}.`);
}

/** The event log's replicas that suit a local run of `size` nodes: 1 alone, 3 clustered (`EVENT_STREAM_REPLICAS`). */
export const eventStreamReplicasFor = (size: number): number => (size === 1 ? 1 : 3);

export interface NatsNode {
  /** Its `server_name` (JetStream's peer name): `happyride-local` alone, `happyride-local-<n>` clustered. */
  name: string;
  /** This node only, with the admin user. */
  url: string;
  storeDir: string;
  /** Everything it printed, across restarts (e.g. to look for permission violations). */
  logFile: string;
  /** Its process id while it runs. */
  pid(): number | undefined;
  /** Sends `signal` (default SIGKILL: a crash) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports with the same store; resolves once it answers JetStream requests. */
  restart(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL); idempotent. */
  stop(): Promise<void>;
}

export interface NatsNodesOptions {
  bin: string;
  /** Alone: the store itself; clustered: `node-<n>/` per node under it. */
  storeDir: string;
  size: number;
  syncInterval: string;
  timeoutMs: number;
  log: (line: string) => void;
}

/** Starts the nodes and waits until each answers a JetStream request (so a meta leader is elected). */
export async function startNatsNodes(options: NatsNodesOptions): Promise<{ url: string; nodes: NatsNode[] }> {
  const size = natsClusterSize(options.size, 'natsCluster');
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, size);
    } catch (error) {
      if (error instanceof ServerStartError && error.portInUse && attempt < 3) continue;
      throw error;
    }
  }
}

async function startOnce({ bin, storeDir, syncInterval, timeoutMs, log }: NatsNodesOptions, size: number) {
  const started = Date.now();
  const adminSecret = newNatsAdminSecret();
  const ports = await distinctFreePorts(size === 1 ? 1 : 2 * size);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size);
  const nodes = await Promise.all(
    clientPorts.map(async (port, index) => {
      const name = size === 1 ? LOCAL_NATS_CLUSTER : `${LOCAL_NATS_CLUSTER}-${index + 1}`;
      const dir = size === 1 ? storeDir : join(storeDir, `node-${index + 1}`);
      await mkdir(dir, { recursive: true });
      const routePort = routePorts[index];
      const configFile = natsConfigFile({
        storeDir: dir,
        port,
        syncInterval,
        users: localNatsUsers(adminSecret),
        ...(routePort === undefined ? {} : { cluster: { name: LOCAL_NATS_CLUSTER, serverName: name, routePort, routePorts, routeUser: localNatsRouteUser(adminSecret) } }),
      });
      return localNode({ bin, name, storeDir: dir, configFile, url: localNatsAdminUrl(adminSecret, port), timeoutMs });
    }),
  );
  const results = await Promise.allSettled(nodes.map((node) => node.start(false)));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw failed.reason;
  }
  const url = localNatsAdminUrl(adminSecret, clientPorts);
  const what = size === 1 ? 'nats-server' : `nats-server cluster of ${size} (JetStream meta leader elected)`;
  log(`${what} ready at ${clientPorts.map((port) => `127.0.0.1:${port}`).join(', ')} in ${Date.now() - started} ms`);
  return { url, nodes };
}

function localNode({ bin, name, storeDir, configFile, url, timeoutMs }: { bin: string; name: string; storeDir: string; configFile: string; url: string; timeoutMs: number }) {
  const logFile = join(storeDir, 'nats-server.log');
  let server: Managed | undefined;
  const running = () => (server?.exitStatus() === undefined ? server : undefined);
  const start = async (append: boolean) => {
    if (running()) throw new Error(`${name} is running already`);
    server = await spawnServer(name, bin, ['-c', configFile], { logFile, append });
    await waitReady(server, () => natsReady(url), timeoutMs);
  };
  const stop = async () => {
    if (server) await stopServer(server);
  };
  const node: NatsNode & { start(append: boolean): Promise<void> } = {
    name,
    url,
    storeDir,
    logFile,
    pid: () => running()?.child.pid,
    kill: async (signal = 'SIGKILL') => {
      const current = running();
      if (!current) return;
      current.child.kill(signal);
      await current.exited;
    },
    restart: () => start(true),
    stop,
    start,
  };
  return node;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}
