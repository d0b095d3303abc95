import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { dispatchActors } from './dispatch.ts';
import { codes, eventually, tokenFor, type graphqlClient } from './graphql-client.ts';

type Gql = ReturnType<typeof graphqlClient>;

export const newId = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Tiananmen; trips go due north from it, about 1.11 km per 0.01° of latitude. */
export const origin = { lng: 116.3975, lat: 39.9087 };
export const northOf = (km: number) => ({ lng: origin.lng, lat: origin.lat + km / 111.195 });

export interface TripView {
  id: string;
  state: string;
  fare: number;
  distanceKm: number;
  paymentStatus: string;
  rejectionReason: string | null;
  cancellationReason: string | null;
}

const TRIP_FIELDS = 'id state fare distanceKm paymentStatus rejectionReason cancellationReason';
const REGISTER_PASSENGER = 'mutation ($name: String!) { registerPassenger(input: { name: $name }) { id } }';
const REQUEST_TRIP = 'mutation ($start: PositionInput!, $end: PositionInput!) { requestTrip(input: { start: $start, end: $end }) { id fare distanceKm } }';
const TRIP = `query ($id: ID!) { trip(id: $id) { ${TRIP_FIELDS} } }`;
const CANCEL_TRIP = 'mutation ($tripId: ID!, $reason: String!) { cancelTrip(input: { tripId: $tripId, reason: $reason }) { id state } }';

export interface Passenger {
  id: string;
  token: string;
}

export async function registeredPassenger(gql: Gql, id = newId('p')): Promise<Passenger> {
  const token = await tokenFor('passenger', id);
  expect((await gql(REGISTER_PASSENGER, { token, variables: { name: 'Ada' } })).errors).toBeUndefined();
  return { id, token };
}

/** Requests a trip from the origin to `km` due north; returns its id and fare. */
export async function requestTrip(gql: Gql, passenger: Passenger, km: number): Promise<{ id: string; fare: number; distanceKm: number }> {
  const response = await gql<{ requestTrip: { id: string; fare: number; distanceKm: number } }>(REQUEST_TRIP, {
    token: passenger.token,
    variables: { start: origin, end: northOf(km) },
  });
  expect(response.errors).toBeUndefined();
  return response.data!.requestTrip;
}

export async function cancelTrip(gql: Gql, passenger: Passenger, tripId: string, reason = 'Changed my mind.') {
  return gql<{ cancelTrip: { id: string; state: string } }>(CANCEL_TRIP, { token: passenger.token, variables: { tripId, reason } });
}

export async function tripView(gql: Gql, token: string, id: string): Promise<TripView | null> {
  const response = await gql<{ trip: TripView | null }>(TRIP, { token, variables: { id } });
  // Not projected yet: an admin is told NOT_FOUND; anyone else FORBIDDEN, since an unknown trip
  // and someone else's answer alike (a caller polling their own trip waits for it to appear).
  if (['NOT_FOUND', 'FORBIDDEN'].includes(codes(response)?.[0] ?? '')) return null;
  expect(response.errors).toBeUndefined();
  return response.data?.trip ?? null;
}

/** The trip as the trip history shows it once `ok` holds (the read model is eventually consistent). */
export const tripWhen = (gql: Gql, token: string, id: string, ok: (trip: TripView) => boolean, timeoutMs = 30_000) =>
  eventually(() => tripView(gql, token, id), (trip) => trip !== null && ok(trip), timeoutMs);

/** Through the creation saga: CONFIRMED, or already DISPATCHING (offered to drivers) right after. */
export const CONFIRMED_OR_DISPATCHING = /^(CONFIRMED|DISPATCHING)$/;
export const confirmed = (trip: TripView) => CONFIRMED_OR_DISPATCHING.test(trip.state);

/** Final in the trip creation saga's sense: confirmed, or rejected/cancelled with a settled payment. */
export const settled = (trip: TripView) =>
  confirmed(trip) ||
  ((trip.state === 'REJECTED' || trip.state === 'CANCELLED') && ['NONE', 'CANCELLED', 'REFUNDED'].includes(trip.paymentStatus));

/**
 * Dispatch starts the moment a trip is confirmed, and with no driver near it fails the trip at
 * once (DISPATCH_FAILED, no longer cancellable). Suites about trip creation and cancellation start
 * their system with `DISPATCH_HELD_OPEN` and call `keepDispatchWaiting`: one driver online at the
 * origin who never answers, so every confirmed trip waits in DISPATCHING (an hour per check).
 */
export const DISPATCH_HELD_OPEN = { DISPATCH_CHECK_INTERVAL_MS: '3600000' } as const;

export async function keepDispatchWaiting(gatewayUrl: string): Promise<void> {
  const { gql, onlineDriver } = dispatchActors(gatewayUrl);
  await onlineDriver(origin, 'Idle');
  // Until the dispatch index knows the driver: a probe trip is offered (DISPATCHING), then cancelled.
  const probe = await registeredPassenger(gql);
  for (let attempt = 1; ; attempt++) {
    const { id } = await requestTrip(gql, probe, 1);
    const trip = await tripWhen(gql, probe.token, id, (t) => t.state === 'DISPATCHING' || t.state === 'DISPATCH_FAILED');
    if (trip?.state === 'DISPATCHING') return void (await cancelTrip(gql, probe, id));
    if (attempt === 5) throw new Error(`the idle driver never became a dispatch candidate: the probe trip is ${trip?.state}`);
  }
}
