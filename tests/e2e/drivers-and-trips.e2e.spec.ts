import { tripDecider, type TripCommand, type TripState } from '@happyride/domain';
import { commandHandler, connectNats, JetStreamEventStore, type CommandHandler, type Nats } from '@happyride/eventstore';
import { SYSTEM_ACTOR } from '@happyride/sagas';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, graphqlClient, tokenFor } from '../support/graphql-client.ts';
import { startTestSystem } from '../support/system.ts';
import { natsUrl } from '../support/own-event-log.ts';

let system: Awaited<ReturnType<typeof startTestSystem>>;
let gql: ReturnType<typeof graphqlClient>;
let nats: Nats;
let trips: CommandHandler<TripCommand, TripState>;

beforeAll(async () => {
  // Trips here are moved by hand with the commands the sagas send: no saga worker racing them.
  system = await startTestSystem({}, { without: ['saga-worker'] });
  gql = graphqlClient(system.gatewayUrl);
  nats = await connectNats(natsUrl(), 'e2e-saga-trip-commands');
  // The trip's command handler on the shared event log, as the saga worker builds it.
  trips = commandHandler({ store: new JetStreamEventStore(nats.js, nats.jsm), aggregateType: 'trip', decider: tripDecider });
});

/** A saga's command metadata: the system actor and a command id derived from the step, as the sagas derive theirs. */
const bySaga = (step: string, tripId: string) => ({ commandId: `${step}-${tripId}`, actor: SYSTEM_ACTOR, now: new Date().toISOString() });
afterAll(async () => {
  await nats?.close();
  await system?.stop();
});

const DRIVER = 'id version name vehicle { plate model } online';
const REGISTER_DRIVER = `mutation ($name: String!, $plate: String!, $model: String!) {
  registerDriver(input: { name: $name, vehicle: { plate: $plate, model: $model } }) { ${DRIVER} } }`;
const GO_ONLINE = `mutation { goOnline { ${DRIVER} } }`;
const GO_OFFLINE = `mutation { goOffline { ${DRIVER} } }`;
const LOCATE = 'mutation ($lng: Float!, $lat: Float!) { updateDriverLocation(input: { lng: $lng, lat: $lat }) { id lng lat at } }';
const REGISTER_PASSENGER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id } }';

const TRIP = 'id version state fare distanceKm passengerId driverId';
const REQUEST_TRIP = `mutation ($start: PositionInput!, $end: PositionInput!) { requestTrip(input: { start: $start, end: $end }) { ${TRIP} } }`;
const CANCEL_TRIP = `mutation ($tripId: ID!, $reason: String!) { cancelTrip(input: { tripId: $tripId, reason: $reason }) { ${TRIP} } }`;
const ACCEPT_TRIP = `mutation ($tripId: ID!, $position: PositionInput!) { acceptTrip(input: { tripId: $tripId, position: $position }) { ${TRIP} } }`;
const START_TRIP = `mutation ($tripId: ID!) { startTrip(input: { tripId: $tripId }) { ${TRIP} } }`;
const FINISH_TRIP = `mutation ($tripId: ID!) { finishTrip(input: { tripId: $tripId }) { ${TRIP} } }`;

type TripData = { id: string; version: number; state: string; fare: number; distanceKm: number; passengerId: string; driverId: string | null };

// Tiananmen to the Temple of Heaven: about 3.05 km, so 10 + 2.5 × 3.05 ≈ 17.6 with the default pricing.
const tiananmen = { lng: 116.3975, lat: 39.9087 };
const templeOfHeaven = { lng: 116.4066, lat: 39.8822 };
// About 25 km from Tiananmen; Shanghai about 1,070 km.
const capitalAirport = { lng: 116.5871, lat: 40.0799 };
const shanghai = { lng: 121.4737, lat: 31.2304 };

const newId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function registeredDriver() {
  const id = newId('d');
  const token = await tokenFor('driver', id);
  const response = await gql(REGISTER_DRIVER, { token, variables: { name: 'Bo', plate: 'jing-a 12345', model: 'BYD Qin' } });
  expect(response.errors).toBeUndefined();
  return { id, token };
}

async function registeredPassenger() {
  const id = newId('p');
  const token = await tokenFor('passenger', id);
  expect((await gql(REGISTER_PASSENGER, { token, variables: { name: 'Ada' } })).errors).toBeUndefined();
  return { id, token };
}

async function requestedTrip(passenger: { token: string }): Promise<TripData> {
  const response = await gql<{ requestTrip: TripData }>(REQUEST_TRIP, { token: passenger.token, variables: { start: tiananmen, end: templeOfHeaven } });
  expect(response.errors).toBeUndefined();
  return response.data!.requestTrip;
}

describe('drivers end to end, through the gateway', () => {
  it('given a driver, when they register, go online, report a location and go offline, then each payload shows it', async () => {
    const id = newId('d');
    const token = await tokenFor('driver', id);

    const registered = await gql(REGISTER_DRIVER, { token, variables: { name: ' Bo ', plate: 'jing-a 12345', model: 'BYD Qin' } });
    expect(registered.data).toEqual({
      registerDriver: { id, version: 1, name: 'Bo', vehicle: { plate: 'JING-A 12345', model: 'BYD Qin' }, online: false },
    });
    expect((await gql(GO_ONLINE, { token })).data).toMatchObject({ goOnline: { id, version: 2, online: true } });

    const before = Date.now();
    const located = await gql<{ updateDriverLocation: { id: string; lng: number; lat: number; at: string } }>(LOCATE, {
      token,
      variables: tiananmen,
    });
    expect(located.errors).toBeUndefined();
    expect(located.data?.updateDriverLocation).toMatchObject({ id, ...tiananmen });
    expect(Date.parse(located.data!.updateDriverLocation.at)).toBeGreaterThanOrEqual(before - 1_000);

    expect((await gql(GO_OFFLINE, { token })).data).toMatchObject({ goOffline: { id, version: 3, online: false } });
    // Going offline twice breaks a rule: CONFLICT, not a silent success.
    expect(codes(await gql(GO_OFFLINE, { token }))).toEqual(['CONFLICT']);
  });

  it.each([
    ['lng 181', { lng: 181, lat: 0 }, /location\.lng/],
    ['lat -91', { lng: 0, lat: -91 }, /location\.lat/],
  ])('given a registered driver, when they report %s, then BAD_USER_INPUT', async (_label, position, message) => {
    const { token } = await registeredDriver();
    const response = await gql(LOCATE, { token, variables: position });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors?.[0]?.message).toMatch(message);
  });

  it('given a driver who never registered, when they report a location, then NOT_FOUND', async () => {
    const response = await gql(LOCATE, { token: await tokenFor('driver', newId('d')), variables: tiananmen });
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect(response.errors?.[0]?.message).toMatch(/register as a driver first/);
  });

  it('given a passenger, when they report a driver location, then FORBIDDEN', async () => {
    const { token } = await registeredPassenger();
    expect(codes(await gql(LOCATE, { token, variables: tiananmen }))).toEqual(['FORBIDDEN']);
  });

  it('given a driver who reported Tiananmen, when they report Shanghai a moment later (a teleport), then BAD_USER_INPUT, and Tiananmen stays their last position', async () => {
    const { token } = await registeredDriver();
    expect((await gql(LOCATE, { token, variables: tiananmen })).errors).toBeUndefined();

    const teleport = await gql(LOCATE, { token, variables: shanghai });

    expect(codes(teleport)).toEqual(['BAD_USER_INPUT']);
    expect(teleport.errors?.[0]?.message).toMatch(/^location is not plausible: 10\d\d\.\d\d km from your last reported position .* at most 200 km\/h/);
    // A step of a few metres from Tiananmen (GPS jitter) is taken: Tiananmen, not Shanghai, was kept.
    expect((await gql(LOCATE, { token, variables: { lng: tiananmen.lng + 0.0003, lat: tiananmen.lat } })).errors).toBeUndefined();
  });
});

describe('trips end to end, through the gateway', () => {
  it('given a registered passenger, when they request a trip, then it is CREATED with its distance and fare', async () => {
    const passenger = await registeredPassenger();
    const trip = await requestedTrip(passenger);
    expect(trip).toMatchObject({ version: 1, state: 'CREATED', passengerId: passenger.id, driverId: null });
    expect(trip.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(trip.distanceKm).toBeCloseTo(3.05, 1);
    expect(trip.fare).toBeCloseTo(10 + 2.5 * trip.distanceKm, 2);
  });

  it('given a passenger who never registered, when they request a trip, then NOT_FOUND', async () => {
    const token = await tokenFor('passenger', newId('p'));
    const response = await gql(REQUEST_TRIP, { token, variables: { start: tiananmen, end: templeOfHeaven } });
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect(response.errors?.[0]?.message).toMatch(/register as a passenger first/);
  });

  it('given a driver, when they request a trip, then FORBIDDEN', async () => {
    const { token } = await registeredDriver();
    expect(codes(await gql(REQUEST_TRIP, { token, variables: { start: tiananmen, end: templeOfHeaven } }))).toEqual(['FORBIDDEN']);
  });

  it('given a CREATED trip, when the passenger cancels it, then another cannot, it is CANCELLED, and cancelling again is a CONFLICT', async () => {
    const passenger = await registeredPassenger();
    const other = await registeredPassenger();
    const trip = await requestedTrip(passenger);

    const stranger = await gql(CANCEL_TRIP, { token: other.token, variables: { tripId: trip.id, reason: 'mine now' } });
    expect(codes(stranger)).toEqual(['FORBIDDEN']);

    const cancelled = await gql(CANCEL_TRIP, { token: passenger.token, variables: { tripId: trip.id, reason: 'plans changed' } });
    expect(cancelled.data).toMatchObject({ cancelTrip: { id: trip.id, version: 2, state: 'CANCELLED' } });

    const again = await gql(CANCEL_TRIP, { token: passenger.token, variables: { tripId: trip.id, reason: 'really' } });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors?.[0]?.message).toMatch(/already cancelled/);
  });

  it('given a trip with no driver assigned, when a driver starts it, then FORBIDDEN (only the assigned driver may)', async () => {
    const trip = await requestedTrip(await registeredPassenger());
    const { token } = await registeredDriver();
    expect(codes(await gql(START_TRIP, { token, variables: { tripId: trip.id } }))).toEqual(['FORBIDDEN']);
  });

  it('given an unknown trip, when its passenger-to-be cancels it, then NOT_FOUND; given a bad id, then BAD_USER_INPUT', async () => {
    const { token } = await registeredPassenger();
    expect(codes(await gql(CANCEL_TRIP, { token, variables: { tripId: randomUUID(), reason: 'x' } }))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(CANCEL_TRIP, { token, variables: { tripId: 'trip.*', reason: 'x' } }))).toEqual(['BAD_USER_INPUT']);
  });

  it('given a requested trip, when the sagas confirm, dispatch and assign it around the driver accepting, then the driver starts and finishes it', async () => {
    const passenger = await registeredPassenger();
    const driver = await registeredDriver();
    const trip = await requestedTrip(passenger);
    const context = { correlationId: `e2e-${trip.id}` };
    const confirm = () => trips(trip.id, { type: 'ConfirmTrip', data: { tripId: trip.id }, metadata: bySaga('confirm', trip.id) }, context);

    const confirmed = await confirm();
    expect(confirmed.state.status).toBe('CONFIRMED');
    // A saga resending the same command id is answered from the log, nothing decided again.
    expect(await confirm()).toMatchObject({ duplicate: true, version: confirmed.version });

    const dispatching = await trips(trip.id, { type: 'StartDispatch', data: { tripId: trip.id, candidateDriverIds: [driver.id] }, metadata: bySaga('dispatch', trip.id) }, context);
    expect(dispatching.state.status).toBe('DISPATCHING');

    const accepted = await gql<{ acceptTrip: TripData }>(ACCEPT_TRIP, {
      token: driver.token,
      variables: { tripId: trip.id, position: tiananmen },
    });
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data?.acceptTrip).toMatchObject({ id: trip.id, state: 'DISPATCHING', driverId: null });

    const assigned = await trips(trip.id, { type: 'AssignDriver', data: { tripId: trip.id, driverId: driver.id }, metadata: bySaga('assign', trip.id) }, context);
    expect(assigned.state).toMatchObject({ status: 'DRIVER_ASSIGNED', driverId: driver.id });

    // The passenger is not the driver: FORBIDDEN.
    expect(codes(await gql(START_TRIP, { token: passenger.token, variables: { tripId: trip.id } }))).toEqual(['FORBIDDEN']);

    const started = await gql(START_TRIP, { token: driver.token, variables: { tripId: trip.id } });
    expect(started.data).toMatchObject({ startTrip: { id: trip.id, state: 'STARTED', driverId: driver.id } });
    const finished = await gql(FINISH_TRIP, { token: driver.token, variables: { tripId: trip.id } });
    expect(finished.data).toEqual({
      finishTrip: {
        id: trip.id,
        version: 7,
        state: 'FINISHED',
        fare: trip.fare,
        distanceKm: trip.distanceKm,
        passengerId: passenger.id,
        driverId: driver.id,
      },
    });
    // Finishing twice breaks a rule.
    expect(codes(await gql(FINISH_TRIP, { token: driver.token, variables: { tripId: trip.id } }))).toEqual(['CONFLICT']);
  });

  it('given a driver at the airport offered a trip from Tiananmen, when they accept claiming to be at the pickup (a teleport to win the offer), then BAD_USER_INPUT and no acceptance; from where they are, accepted', async () => {
    const passenger = await registeredPassenger();
    const driver = await registeredDriver();
    expect((await gql(LOCATE, { token: driver.token, variables: capitalAirport })).errors).toBeUndefined();
    const trip = await requestedTrip(passenger);
    const context = { correlationId: `e2e-${trip.id}` };
    await trips(trip.id, { type: 'ConfirmTrip', data: { tripId: trip.id }, metadata: bySaga('confirm', trip.id) }, context);
    await trips(trip.id, { type: 'StartDispatch', data: { tripId: trip.id, candidateDriverIds: [driver.id] }, metadata: bySaga('dispatch', trip.id) }, context);

    const teleport = await gql<{ acceptTrip: TripData }>(ACCEPT_TRIP, { token: driver.token, variables: { tripId: trip.id, position: tiananmen } });

    expect(codes(teleport)).toEqual(['BAD_USER_INPUT']);
    expect(teleport.errors?.[0]?.message).toMatch(/^position is not plausible: 2\d\.\d\d km from your last reported position/);
    expect((await new JetStreamEventStore(nats.js, nats.jsm).read('trip', trip.id)).events.map((event) => event.type)).not.toContain('DriverAcceptedTrip');
    const honest = await gql<{ acceptTrip: TripData }>(ACCEPT_TRIP, { token: driver.token, variables: { tripId: trip.id, position: capitalAirport } });
    expect(honest.errors).toBeUndefined();
    expect(honest.data?.acceptTrip).toMatchObject({ id: trip.id, state: 'DISPATCHING' });
  });

  it('given a requested trip, when saga commands are sent out of order, then they are refused', async () => {
    const trip = await requestedTrip(await registeredPassenger());
    const context = { correlationId: `e2e-${trip.id}` };
    const dispatch = trips(trip.id, { type: 'StartDispatch', data: { tripId: trip.id, candidateDriverIds: ['d-nobody'] }, metadata: bySaga('dispatch', trip.id) }, context);
    await expect(dispatch).rejects.toMatchObject({ kind: 'ILLEGAL_STATE' });
    const rejected = await trips(trip.id, { type: 'RejectTrip', data: { tripId: trip.id, reason: 'passenger is banned' }, metadata: bySaga('reject', trip.id) }, context);
    expect(rejected.state.status).toBe('REJECTED');
  });
});
