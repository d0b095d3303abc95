/** A driver's vehicle: the plate is upper-cased on the way in. */
export interface Vehicle {
  plate: string;
  model: string;
}

/**
 * Everything that can happen to a driver: the one source of truth for its event types.
 * Location updates are deliberately not here (see `location.ts`): only the latest one matters.
 */
export type DriverEvent =
  | { type: 'DriverRegistered'; data: { driverId: string; name: string; vehicle: Vehicle } }
  | { type: 'DriverDetailsUpdated'; data: { driverId: string; name: string; vehicle: Vehicle } }
  | { type: 'DriverWentOnline'; data: { driverId: string } }
  | { type: 'DriverWentOffline'; data: { driverId: string } }
  /** Dispatch took the driver for a trip: appended with the driver's version, so only one trip can. */
  | { type: 'DriverReservedForTrip'; data: { driverId: string; tripId: string } }
  /** The trip finished, was cancelled or did not get the driver after all: the driver is free again. */
  | { type: 'DriverReleasedFromTrip'; data: { driverId: string; tripId: string } };
