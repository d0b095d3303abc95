/**
 * `npm run projections:rebuild -- <projection> [--force]`: rebuilds a projection's read model
 * from the event stream into a new generation while the current one keeps serving, swaps,
 * and waits for the running projector to take over (see README, "Rebuilding a projection").
 * Needs the running system's servers: `NATS_URL` and `MONGODB_URL` (`npm start` prints both).
 */
import { connectNats } from '@happyride/eventstore';
import {
  drawnLine,
  formatDuration,
  formatProgress,
  groupDigits,
  projectionNamed,
  rebuildProjection,
  RebuildError,
  shouldDraw,
  type ProgressSample,
} from '@happyride/projections';
import { connectMongo, envString, envUrl, envUrlList, readModelNames, readProjectionPartitions } from '@happyride/platform';

const args = process.argv.slice(2);
const force = args.includes('--force');
const positional = args.filter((arg) => !arg.startsWith('--'));

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

if (args.includes('--help') || positional.length !== 1) {
  fail(`usage: npm run projections:rebuild -- <projection> [--force]\n  projections: ${readModelNames.join(', ')}`);
}
let projection;
try {
  projection = projectionNamed(positional[0]);
} catch (error) {
  fail((error as Error).message);
}
if (!process.env.NATS_URL || !process.env.MONGODB_URL) {
  fail(
    'projections:rebuild works on the running system: set NATS_URL and MONGODB_URL to its servers.\n' +
      '`npm start` prints both ("NATS (admin, for the scripts):" and "MongoDB wire"); e.g.\n' +
      `  NATS_URL=nats://local-admin:<password>@127.0.0.1:<port> MONGODB_URL=mongodb://127.0.0.1:<port>/ npm run projections:rebuild -- ${projection}`,
  );
}

const natsUrl = envUrlList(process.env, 'NATS_URL', ['nats', 'tls', 'ws', 'wss']);
const mongoUrl = envUrl(process.env, 'MONGODB_URL', ['mongodb', 'mongodb+srv']);
const nats = await connectNats(natsUrl, 'projections-rebuild');
const mongo = await connectMongo(mongoUrl, envString(process.env, 'MONGODB_DATABASE', 'happyride'), 'projections-rebuild');

const tty = process.stderr.isTTY === true;
let lastDraw: number | null = null;
let last: ProgressSample | null = null;
const draw = (sample: ProgressSample, always = false) => {
  last = sample;
  const nowMs = Date.now();
  if (!always && !shouldDraw({ lastDrawMs: lastDraw, nowMs, tty })) return;
  lastDraw = nowMs;
  process.stderr.write(drawnLine(formatProgress(sample), tty));
};
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

try {
  const result = await rebuildProjection(nats, mongo.db, projection, { force, partitions: readProjectionPartitions(process.env), onProgress: (sample) => draw(sample), signal: stop.signal });
  if (last) draw(last, true);
  if (tty) process.stderr.write('\n');
  console.log(
    `${result.projection}: generation ${result.from} → ${result.to}, ${groupDigits(result.events)} events replayed up to stream sequence ${result.lastSequence} in ${formatDuration(result.elapsedMs)}; ` +
      (result.takenOver
        ? 'the projector took over and caught up; it drops the previous generation shortly.'
        : 'no projector took the new generation over yet: once one runs (npm start), it continues from there and drops the previous generation.'),
  );
} catch (error) {
  if (tty) process.stderr.write('\n');
  console.error(error instanceof RebuildError ? error.message : error);
  process.exitCode = 1;
} finally {
  await mongo.close();
  await nats.close();
}
