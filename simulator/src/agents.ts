import type { Position } from '@happyride/domain';
import { AppConnection, RequestFailed } from './graphql.ts';
import { exponentialWait, moveToward, randomPointNear } from './movement.ts';
import * as ops from './operations.ts';
import type { SimulationOptions } from './options.ts';
import type { SimulationCounters } from './progress.ts';

export interface World {
  options: SimulationOptions;
  random: () => number;
  counters: SimulationCounters;
  offerArrivals: number[];
  signal: AbortSignal;
  token: (role: 'driver' | 'passenger', id: string) => Promise<string>;
  report: (error: unknown) => void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Registering again under the same run id is fine: the person already exists. */
async function registerOnce(app: AppConnection, operation: string, query: string, variables: Record<string, unknown>) {
  try {
    await app.request(operation, query, variables);
  } catch (error) {
    if (!(error instanceof RequestFailed && error.code === 'CONFLICT')) throw error;
  }
}

/**
 * A driver's app: goes online, roams between random points reporting its location, listens to
 * its offers, accepts some, and when assigned drives to the pick-up, starts, drives to the
 * destination and finishes; then roams again. Simulated time runs `timeScale` faster.
 */
export async function runDriver(world: World, index: number): Promise<void> {
  const { options, random, counters, signal } = world;
  const id = `${options.runId}-d${index}`;
  const app = new AppConnection(options.gatewayUrl, await world.token('driver', id));
  let position = randomPointNear(options.center, options.areaKm, random);
  let target = randomPointNear(options.center, options.areaKm, random);
  /** The trip this driver is on or waits for, and what it does next. */
  let job: { tripId: string; phase: 'waiting' | 'to-pickup' | 'riding'; start: Position; end: Position } | undefined;

  await registerOnce(app, 'registerDriver', ops.REGISTER_DRIVER, { name: `Driver ${index}`, plate: `SIM-${index}`, model: 'Simulated' });
  await app.request('updateDriverLocation', ops.UPDATE_LOCATION, { ...position });
  await app.request('goOnline', ops.GO_ONLINE);
  counters.onlineDrivers++;

  // One subscription tells everything: new offers (OPEN), then ASSIGNED to this driver, or
  // TAKEN by another, EXPIRED or CANCELLED.
  const stopOffers = app.subscribe<{ dispatchOffers: ops.Offer }>(
    ops.DISPATCH_OFFERS,
    {},
    ({ dispatchOffers: offer }) => {
      if (offer.status !== 'OPEN') {
        if (job?.tripId !== offer.tripId) return;
        if (offer.status === 'ASSIGNED' && job.phase === 'waiting') job.phase = 'to-pickup';
        else if (offer.status !== 'ASSIGNED') job = undefined;
        return;
      }
      counters.offersReceived++;
      world.offerArrivals.push(Date.now());
      if (job || random() >= options.acceptRate) return;
      job = { tripId: offer.tripId, phase: 'waiting', start: offer.start, end: offer.end };
      app
        .request('acceptTrip', ops.ACCEPT_TRIP, { tripId: offer.tripId, position: { ...position } })
        .then(() => void counters.accepted++)
        .catch((error: unknown) => {
          if (job?.tripId === offer.tripId) job = undefined;
          world.report(error);
        });
    },
    world.report,
  );

  let last = Date.now();
  while (!signal.aborted) {
    await sleep(options.locationEveryMs, signal);
    const now = Date.now();
    const drivenMs = (now - last) * options.timeScale;
    last = now;
    try {
      if (job?.phase === 'to-pickup' || job?.phase === 'riding') {
        const step = moveToward(position, job.phase === 'to-pickup' ? job.start : job.end, options.speedKmh, drivenMs);
        position = step.position;
        if (step.arrived && job.phase === 'to-pickup') {
          await app.request('startTrip', ops.START_TRIP, { tripId: job.tripId });
          job.phase = 'riding';
        } else if (step.arrived) {
          await app.request('finishTrip', ops.FINISH_TRIP, { tripId: job.tripId });
          job = undefined;
        }
      } else if (!job) {
        const step = moveToward(position, target, options.speedKmh / 2, drivenMs);
        position = step.position;
        if (step.arrived) target = randomPointNear(options.center, options.areaKm, random);
      }
      await app.request('updateDriverLocation', ops.UPDATE_LOCATION, { ...position });
    } catch (error) {
      // A trip cancelled under the driver's feet: forget it and roam again.
      if (error instanceof RequestFailed && error.code === 'CONFLICT') job = undefined;
      world.report(error);
    }
  }
  stopOffers();
  await app.request('goOffline', ops.GO_OFFLINE).catch(world.report);
  counters.onlineDrivers--;
  await app.close();
}

/**
 * A passenger's app: now and then requests a trip between two random points of the area and
 * follows it to its end (counting trips by their latest state), then waits for the next one.
 */
export async function runPassenger(world: World, index: number): Promise<void> {
  const { options, random, counters, signal } = world;
  const id = `${options.runId}-p${index}`;
  const app = new AppConnection(options.gatewayUrl, await world.token('passenger', id));
  await registerOnce(app, 'registerPassenger', ops.REGISTER_PASSENGER, { name: `Passenger ${index}` });
  const count = (from: string | undefined, to: string) => {
    if (from) counters.tripsByState[from] = (counters.tripsByState[from] ?? 1) - 1;
    counters.tripsByState[to] = (counters.tripsByState[to] ?? 0) + 1;
  };

  while (!signal.aborted) {
    await sleep(exponentialWait(options.requestEveryMs, random), signal);
    if (signal.aborted) break;
    const start = randomPointNear(options.center, options.areaKm, random);
    const end = randomPointNear(options.center, options.areaKm, random);
    try {
      const { requestTrip } = await app.request<{ requestTrip: ops.TripUpdate }>('requestTrip', ops.REQUEST_TRIP, { start, end });
      let state: string | undefined;
      count(state, requestTrip.state);
      state = requestTrip.state;
      await new Promise<void>((resolve) => {
        const done = () => {
          stop();
          signal.removeEventListener('abort', done);
          resolve();
        };
        const stop = app.subscribe<{ tripUpdates: ops.TripUpdate }>(
          ops.TRIP_UPDATES,
          { tripId: requestTrip.id },
          ({ tripUpdates: trip }) => {
            if (trip.state !== state) {
              count(state, trip.state);
              state = trip.state;
            }
            if (ops.finalStates.has(trip.state)) done();
          },
          (error) => {
            world.report(error);
            done();
          },
        );
        signal.addEventListener('abort', done, { once: true });
      });
    } catch (error) {
      world.report(error);
    }
  }
  await app.close();
}
