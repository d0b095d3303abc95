import type { CommandMetadata } from '../decider.ts';

export type PassengerCommand =
  | { type: 'RegisterPassenger'; data: { passengerId: string; name: string }; metadata: CommandMetadata }
  | { type: 'UpdatePassengerDetails'; data: { passengerId: string; name: string }; metadata: CommandMetadata }
  | { type: 'BanPassenger'; data: { passengerId: string }; metadata: CommandMetadata }
  | { type: 'UnbanPassenger'; data: { passengerId: string }; metadata: CommandMetadata };
