import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '@happyride/local-servers';
import { dispatchActors, offset, somewhereNew } from '../support/dispatch.ts';
import { expectMoneyConserved } from '../support/money-conservation.ts';
import { startTestSystem } from '../support/system.ts';
import { natsUrl } from '../support/own-event-log.ts';

/**
 * "A driver is never assigned two active trips, however offers and accepts race, across
 * several dispatch workers": real processes (the saga worker runs dispatch), two of them side
 * by side here, and real concurrent accepts through the gateway.
 */
let system: Awaited<ReturnType<typeof startTestSystem>>;
let actors: ReturnType<typeof dispatchActors>;
let secondWorker: ChildProcess | undefined;

const env = {
  MONGODB_DATABASE: `e2e_${randomUUID().slice(0, 8)}`,
  DISPATCH_CHECK_INTERVAL_MS: '1500',
  DISPATCH_MAX_CHECKS: '3',
  SAGA_POLL_INTERVAL_MS: '100',
};

/** A second saga worker (so a second dispatch worker) on the same log and database, as a real process. */
async function startSecondWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sagas/src/main.ts'], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, ...env, NATS_URL: natsUrl(), MONGODB_URL: inject('mongoUrl'), SAGA_WORKER_METRICS_PORT: String(await freePort()), NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the second saga worker exited with ${code}:\n${output.slice(-2000)}`)));
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('saga worker started')) resolve();
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
  });
  return child;
}

beforeAll(async () => {
  system = await startTestSystem(env);
  // FerretDB may drop a connection while the first worker still creates its indexes: retry.
  for (let attempt = 1; !secondWorker; attempt++) {
    secondWorker = await startSecondWorker().catch((error: unknown) => {
      if (attempt >= 3) throw error;
      return undefined;
    });
  }
  actors = dispatchActors(system.gatewayUrl);
}, 120_000);
afterAll(async () => {
  if (secondWorker && secondWorker.exitCode === null) {
    const exited = new Promise((resolve) => secondWorker!.once('exit', resolve));
    secondWorker.kill('SIGTERM');
    await exited;
  }
  await system?.stop();
});

/** Waits until the trip is offered (DISPATCHING) or over. */
const dispatching = (tripId: string) => actors.waitForState(tripId, ['DISPATCHING', 'DISPATCH_FAILED', 'DRIVER_ASSIGNED']);

describe('dispatch races with real processes, two dispatch workers side by side', () => {
  it('given 50 drivers near a trip, when all accept at once, then exactly one is assigned', async () => {
    const here = somewhereNew();
    const drivers = await Promise.all(Array.from({ length: 50 }, (_, k) => actors.onlineDriver(offset(here, 0.1 + (k % 10) * 0.5, Math.floor(k / 10) * 0.5))));
    await new Promise((resolve) => setTimeout(resolve, 500)); // the dispatch index hears the locations
    const passenger = await actors.passenger();
    const tripId = await actors.requestTrip(passenger.token, here);
    expect((await dispatching(tripId)).state).toBe('DISPATCHING');

    const answers = await Promise.all(drivers.map((driver) => actors.accept(driver.token, tripId, driver.position)));
    expect(answers.filter((answer) => !answer.errors).length).toBeGreaterThan(0);

    const trip = await actors.waitForState(tripId, ['DRIVER_ASSIGNED', 'DISPATCH_FAILED']);
    expect(trip.state).toBe('DRIVER_ASSIGNED');
    expect(drivers.map((d) => d.id)).toContain(trip.driverId);
  }, 90_000);

  it('given one driver nearest to 10 trips, when they accept them all, then they get at most one; the others go to the other driver or fail cleanly', async () => {
    const here = somewhereNew();
    const greedy = await actors.onlineDriver(offset(here, 0.2));
    const other = await actors.onlineDriver(offset(here, 3));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const passengers = await Promise.all(Array.from({ length: 10 }, () => actors.passenger()));
    const tripIds = await Promise.all(passengers.map((p, k) => actors.requestTrip(p.token, offset(here, 0, k * 0.05))));
    await Promise.all(tripIds.map(dispatching));

    await Promise.all(tripIds.flatMap((tripId) => [actors.accept(greedy.token, tripId, greedy.position), actors.accept(other.token, tripId, other.position)]));

    const trips = await Promise.all(tripIds.map((tripId) => actors.waitForState(tripId, ['DRIVER_ASSIGNED', 'DISPATCH_FAILED'], 90_000)));
    const byDriver = (id: string) => trips.filter((t) => t.state === 'DRIVER_ASSIGNED' && t.driverId === id).length;
    expect(byDriver(greedy.id)).toBe(1);
    expect(byDriver(other.id)).toBe(1);
    expect(trips.filter((t) => t.state === 'DISPATCH_FAILED')).toHaveLength(8);
  }, 180_000);
});

describe('money, at the end of the file', { timeout: 120_000 }, () => {
  it('given every trip above (2 km: fares at or below PAYMENT_REQUIRED_ABOVE, charged only when they finish; none finishes here), when the file ends, then the provider holds no money for any ended trip', async () => {
    const { ended, charged, finished } = await expectMoneyConserved(system);
    expect(ended).toBeGreaterThan(0);
    expect([charged, finished]).toEqual([0, 0]);
  });
});
