/** The public API operations the simulated apps use (API.md): nothing else. */
export const REGISTER_PASSENGER = 'mutation Register($name: String!) { registerPassenger(input: { name: $name }) { id } }';
export const REGISTER_DRIVER = `mutation Register($name: String!, $plate: String!, $model: String!) {
  registerDriver(input: { name: $name, vehicle: { plate: $plate, model: $model } }) { id } }`;
export const GO_ONLINE = 'mutation { goOnline { id online } }';
export const GO_OFFLINE = 'mutation { goOffline { id online } }';
export const UPDATE_LOCATION = 'mutation Locate($lng: Float!, $lat: Float!) { updateDriverLocation(input: { lng: $lng, lat: $lat }) { id } }';
export const REQUEST_TRIP = 'mutation Request($start: PositionInput!, $end: PositionInput!) { requestTrip(input: { start: $start, end: $end }) { id state } }';
export const ACCEPT_TRIP = 'mutation Accept($tripId: ID!, $position: PositionInput!) { acceptTrip(input: { tripId: $tripId, position: $position }) { id } }';
export const START_TRIP = 'mutation Start($tripId: ID!) { startTrip(input: { tripId: $tripId }) { id state } }';
export const FINISH_TRIP = 'mutation Finish($tripId: ID!) { finishTrip(input: { tripId: $tripId }) { id state } }';
export const DISPATCH_OFFERS = 'subscription Offers { dispatchOffers { tripId status start { lng lat } end { lng lat } fare passengerName distanceKm expiresAt } }';
export const TRIP_UPDATES = 'subscription Follow($tripId: ID!) { tripUpdates(tripId: $tripId) { id state driverId } }';

export interface Offer {
  tripId: string;
  /** OPEN, then ASSIGNED (to this driver), TAKEN (by another), EXPIRED or CANCELLED. */
  status: string;
  start: { lng: number; lat: number };
  end: { lng: number; lat: number };
  fare: number;
  passengerName: string | null;
  distanceKm: number;
  expiresAt: string;
}

export interface TripUpdate {
  id: string;
  state: string;
  driverId: string | null;
}

/** States after which nothing more happens to a trip. */
export const finalStates: ReadonlySet<string> = new Set(['FINISHED', 'REJECTED', 'DISPATCH_FAILED', 'CANCELLED']);
