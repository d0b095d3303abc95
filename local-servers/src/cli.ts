/**
 * `npm run servers`            builds if needed, starts nats-server + FerretDB
 *                              with data in `<repo>/.data/`, prints the URLs and
 *                              runs until SIGINT/SIGTERM.
 * `npm run servers -- --build-only`  only builds/caches the binaries.
 *
 * `NATS_URL` / `MONGODB_URL`, when set, are reused instead of starting a server.
 */
import { fileURLToPath } from 'node:url';
import { ensureServerBinaries, startLocalServers } from './index.ts';
import { ensureStripeMock } from './stripe-mock.ts';

const log = (line: string): void => {
  process.stderr.write(`[servers] ${line}\n`);
};

async function main(args: string[]): Promise<void> {
  const unknown = args.filter((arg) => arg !== '--build-only');
  if (unknown.length > 0) {
    throw new Error(`unknown argument(s): ${unknown.join(' ')} (usage: servers [--build-only])`);
  }

  if (args.includes('--build-only')) {
    const binaries = await ensureServerBinaries(log);
    log(`nats-server: ${binaries.natsServer}`);
    log(`ferretdb:    ${binaries.ferretdb}`);
    log(`stripe-mock: ${await ensureStripeMock(log)}`); // for the Stripe adapter's test
    return;
  }

  const dataDir = fileURLToPath(new URL('../../.data/', import.meta.url));
  const servers = await startLocalServers({ dataDir, log });
  process.stdout.write(`NATS_URL=${servers.natsUrl}\nMONGODB_URL=${servers.mongoUrl}\n`);
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
