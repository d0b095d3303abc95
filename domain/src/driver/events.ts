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
  | { type: 'DriverWentOffline'; data: { driverId: string } };

export type DriverEventType = DriverEvent['type'];

export const driverEventTypes = [
  'DriverRegistered',
  'DriverDetailsUpdated',
  'DriverWentOnline',
  'DriverWentOffline',
] as const satisfies readonly DriverEventType[];
