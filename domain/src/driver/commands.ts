import type { CommandMetadata } from '../decider.ts';
import type { Vehicle } from './events.ts';

export type DriverCommand =
  | { type: 'RegisterDriver'; data: { driverId: string; name: string; vehicle: Vehicle }; metadata: CommandMetadata }
  | { type: 'UpdateDriverDetails'; data: { driverId: string; name?: string; vehicle?: Vehicle }; metadata: CommandMetadata }
  | { type: 'GoOnline'; data: { driverId: string }; metadata: CommandMetadata }
  | { type: 'GoOffline'; data: { driverId: string }; metadata: CommandMetadata }
  /** Internal (dispatch, `system` actor): take the driver for a trip, if no other trip has them. */
  | { type: 'ReserveDriverForTrip'; data: { driverId: string; tripId: string }; metadata: CommandMetadata }
  /** Internal (dispatch, `system` actor): the trip no longer needs the driver. */
  | { type: 'ReleaseDriverFromTrip'; data: { driverId: string; tripId: string }; metadata: CommandMetadata };
