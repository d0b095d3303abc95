import type { CommandMetadata } from '../decider.ts';
import type { Vehicle } from './events.ts';

export type DriverCommand =
  | { type: 'RegisterDriver'; data: { driverId: string; name: string; vehicle: Vehicle }; metadata: CommandMetadata }
  | { type: 'UpdateDriverDetails'; data: { driverId: string; name?: string; vehicle?: Vehicle }; metadata: CommandMetadata }
  | { type: 'GoOnline'; data: { driverId: string }; metadata: CommandMetadata }
  | { type: 'GoOffline'; data: { driverId: string }; metadata: CommandMetadata };
