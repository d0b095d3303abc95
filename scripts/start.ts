/**
 * `npm start`: the whole system on this machine. Starts (building on first use) nats-server
 * and FerretDB with their data in `.data/` — or uses `NATS_URL` / `MONGODB_URL` — then every
 * subgraph, the projector and the gateway, and prints where to point a GraphQL client.
 * `NATS_CLUSTER=3` starts three nats-server nodes forming one JetStream cluster instead, and
 * keeps 3 replicas of the event log (`EVENT_STREAM_REPLICAS`, unless set).
 * Runs from the build (`node dist/start.js`): every service is the bundle in `dist/`.
 */
import { eventStreamReplicasFor, natsClusterSize, startLocalServers } from '@happyride/local-servers';
import { readEventStreamReplicas, redactUrl } from '@happyride/platform';
import { fileURLToPath } from 'node:url';
import { startSystem, type RunningSystem } from './system.ts';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info ', 40: 'warn ', 50: 'error', 60: 'fatal' };
const raw = process.env.LOG_FORMAT === 'json';

function printLine(service: string, line: string): void {
  if (raw) return void console.log(line);
  try {
    const { time, level, msg, service: _s, name: _n, pid: _p, hostname: _h, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    console.log(`${String(time ?? '').slice(11, 23)} ${service.padEnd(18)} ${LEVELS[Number(level)] ?? level} ${msg}${extra}`);
  } catch {
    console.log(`${service.padEnd(18)} ${line}`);
  }
}

/** The launcher's own lines (a service crashed, its restart): always shown, whatever LOG_FORMAT. */
function printLauncherEvent(message: string): void {
  if (raw) return void console.log(JSON.stringify({ time: new Date().toISOString(), service: 'launcher', level: 40, msg: message }));
  console.log(`${new Date().toISOString().slice(11, 23)} ${'launcher'.padEnd(18)} warn  ${message}`);
}

/** Validated before anything starts: a bad value stops here with a message naming it. */
function readClusterSettings(): { natsCluster: number; env: Record<string, string> } {
  try {
    const natsCluster = natsClusterSize(process.env.NATS_CLUSTER, 'NATS_CLUSTER');
    const replicas = readEventStreamReplicas(process.env) ?? (natsCluster === 1 ? undefined : eventStreamReplicasFor(natsCluster));
    return { natsCluster, env: replicas === undefined ? {} : { EVENT_STREAM_REPLICAS: String(replicas) } };
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
const { natsCluster, env } = readClusterSettings();

const dataDir = fileURLToPath(new URL('../.data/', import.meta.url));
const servers = await startLocalServers({ dataDir, natsCluster, log: (line) => console.log(`local-servers      ${line}`) });
let system: RunningSystem;
try {
  // A service that crashes is reported and started again (0.5 s, doubling to 30 s).
  system = await startSystem({ natsUrl: servers.natsUrl, mongoUrl: servers.mongoUrl, env, onLine: printLine, onLauncherEvent: printLauncherEvent, runtime: 'compiled' });
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await servers.stop();
  process.exit(1);
}

console.log(`
  Happyride Graph is up.

  GraphQL (HTTP and graphql-ws):  ${system.gatewayUrl}
  Health / readiness:             ${system.urls.gateway}/health  ${system.urls.gateway}/ready
  Gateway metrics (admin port):   ${system.urls['gateway-metrics']}/metrics
  NATS (admin, for the scripts):  ${servers.natsUrl}${natsCluster === 1 ? '' : `\n  NATS cluster:                   ${natsCluster} nodes, ${env.EVENT_STREAM_REPLICAS ?? 'unchanged'} replicas of the event log`}
  MongoDB wire (FerretDB):        ${redactUrl(servers.mongoUrl)}

  A token:   npm run token -- --role passenger --sub p1
  Try it:    curl -s ${system.gatewayUrl} -H 'content-type: application/json' \\
               -H "authorization: Bearer $(npm run -s token -- --role passenger --sub p1)" \\
               -d '{"query":"mutation { registerPassenger(input: { name: \\"Ada\\" }) { id name } }"}'

  Ctrl-C stops everything; data stays in .data/ (delete it for a clean slate).
`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  console.log('stopping…');
  await system.stop();
  await servers.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
