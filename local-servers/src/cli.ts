/**
 * `npm run servers`            builds if needed, starts nats-server + FerretDB
 *                              with data in `<repo>/.data/`, prints the URLs and
 *                              runs until SIGINT/SIGTERM.
 * `npm run servers -- --nats-cluster 3`  three nats-server nodes forming one JetStream
 *                              cluster (3 to 5; or `NATS_CLUSTER=3`); the URL lists them all.
 * `npm run servers -- --build-only`  only builds/caches the binaries.
 *
 * `NATS_URL` / `MONGODB_URL`, when set, are reused instead of starting a server.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureServerBinaries, eventStreamReplicasFor, natsClusterSize, startLocalServers } from './index.ts';
import { ensureStripeMock } from './stripe-mock.ts';

const log = (line: string): void => {
  process.stderr.write(`[servers] ${line}\n`);
};

const USAGE = 'usage: servers [--build-only] [--nats-cluster 1|3|4|5]';

async function main(args: string[]): Promise<void> {
  let values: { 'build-only'?: boolean; 'nats-cluster'?: string };
  try {
    ({ values } = parseArgs({ args, options: { 'build-only': { type: 'boolean' }, 'nats-cluster': { type: 'string' } } }));
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (${USAGE})`);
  }
  if (values['build-only']) {
    const binaries = await ensureServerBinaries(log);
    log(`nats-server: ${binaries.natsServer}`);
    log(`ferretdb:    ${binaries.ferretdb}`);
    log(`stripe-mock: ${await ensureStripeMock(log)}`); // for the Stripe adapter's test
    return;
  }

  const natsCluster = values['nats-cluster'] === undefined ? natsClusterSize(process.env['NATS_CLUSTER'], 'NATS_CLUSTER') : natsClusterSize(values['nats-cluster'], '--nats-cluster');
  const dataDir = fileURLToPath(new URL('../../.data/', import.meta.url));
  const servers = await startLocalServers({ dataDir, log, natsCluster });
  // Replicated on every node when clustered: what `npm run bootstrap` needs to hear.
  const replicas = natsCluster === 1 ? '' : `EVENT_STREAM_REPLICAS=${eventStreamReplicasFor(natsCluster)}\n`;
  process.stdout.write(`NATS_URL=${servers.natsUrl}\nMONGODB_URL=${servers.mongoUrl}\n${replicas}`);
  log(`data in ${dataDir}; press Ctrl-C to stop`);

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log(`${signal}: stopping…`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await servers.stop();
  log('stopped');
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
