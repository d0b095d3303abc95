/**
 * `npm run simulate -- --drivers 200 --passengers 50`: a city of driver and passenger apps that
 * speak only the public GraphQL API (HTTP + graphql-ws) of a running gateway (`npm start`).
 * Tokens are signed with JWT_SECRET (or the development default), as `npm run token` does.
 */
import { readAuthConfig, signToken } from '@happyride/platform';
import { randomUUID } from 'node:crypto';
import { runDriver, runPassenger, type World } from './agents.ts';
import { RequestFailed } from './graphql.ts';
import { seededRandom } from './movement.ts';
import { OptionsError, parseSimulationOptions, usage } from './options.ts';
import { progressLine, ratePerSecond } from './progress.ts';

let options;
try {
  options = parseSimulationOptions(process.argv.slice(2), () => `sim${randomUUID().slice(0, 6)}`);
} catch (error) {
  if (!(error instanceof OptionsError)) throw error;
  console.error(`simulate: ${error.message}\n\n${usage}`);
  process.exit(2);
}
if (options === 'help') {
  console.log(usage);
  process.exit(0);
}

const auth = readAuthConfig(process.env);
const stop = new AbortController();
const lastErrors = new Map<string, number>();
const world: World = {
  options,
  random: seededRandom(options.seed),
  counters: { onlineDrivers: 0, tripsByState: {}, offersReceived: 0, accepted: 0, errors: 0 },
  offerArrivals: [],
  signal: stop.signal,
  token: (role, id) => signToken({ id, role }, auth.jwtSecret, { expiresIn: '24h', issuer: auth.issuer, audience: auth.audience }),
  report: (error) => {
    world.counters.errors++;
    const message = error instanceof RequestFailed ? error.message : error instanceof Error ? error.message : String(error);
    lastErrors.set(message, (lastErrors.get(message) ?? 0) + 1);
  },
};

try {
  const health = await fetch(new URL('/health', options.gatewayUrl));
  if (!health.ok) throw new Error(`HTTP ${health.status}`);
} catch (error) {
  console.error(`simulate: the gateway at ${options.gatewayUrl} does not answer (${(error as Error).message}). Start the system with \`npm start\`, or pass --gateway.`);
  process.exit(1);
}

console.log(`simulating ${options.drivers} drivers and ${options.passengers} passengers around ${options.center.lng},${options.center.lat} (run ${options.runId}); Ctrl-C stops`);
const started = Date.now();
const tty = process.stdout.isTTY;
const draw = () => {
  const now = Date.now();
  world.offerArrivals = world.offerArrivals.filter((at) => at > now - 5_000);
  const line = progressLine(now - started, options.drivers, world.counters, ratePerSecond(world.offerArrivals, now));
  if (tty) process.stdout.write(`\r\x1b[2K${line}`);
  else console.log(line);
};
const ticker = setInterval(draw, tty ? 500 : 5_000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
if (options.durationSeconds > 0) setTimeout(() => stop.abort(), options.durationSeconds * 1000).unref();

// Apps come up a few at a time, as a city wakes up, rather than all in the same millisecond.
const agents: Promise<void>[] = [];
const launch = async (run: () => Promise<void>) => {
  agents.push(run().catch((error: unknown) => world.report(error)));
  await new Promise((resolve) => setTimeout(resolve, 10));
};
for (let i = 0; i < options.drivers && !stop.signal.aborted; i++) await launch(() => runDriver(world, i));
for (let i = 0; i < options.passengers && !stop.signal.aborted; i++) await launch(() => runPassenger(world, i));
await Promise.all(agents);
clearInterval(ticker);
draw();
if (tty) process.stdout.write('\n');
if (lastErrors.size > 0) {
  console.log('errors, most frequent first:');
  for (const [message, count] of [...lastErrors].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${count} × ${message}`);
}
const finished = world.counters.tripsByState['FINISHED'] ?? 0;
console.log(`done: ${finished} trips finished, ${world.counters.accepted} offers accepted, ${world.counters.offersReceived} offers received`);
