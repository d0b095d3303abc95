import type { CommandMetadata } from '../decider.ts';
import type { PositionReport } from '../driver/plausibility.ts';
import type { Position } from '../geo.ts';
import type { DispatchFailureReason } from './events.ts';

/**
 * What can be asked of a trip. Internal commands (sent by the creation saga and dispatch with
 * the `system` actor, never from a token): ConfirmTrip, RejectTrip, StartDispatch, AssignDriver,
 * FailDispatch. The others come from people through the graph.
 */
export type TripCommand =
  | { type: 'RequestTrip'; data: { tripId: string; passengerId: string; start: Position; end: Position }; metadata: CommandMetadata }
  | { type: 'ConfirmTrip'; data: { tripId: string }; metadata: CommandMetadata }
  | { type: 'RejectTrip'; data: { tripId: string; reason: string }; metadata: CommandMetadata }
  | { type: 'StartDispatch'; data: { tripId: string; candidateDriverIds: string[] }; metadata: CommandMetadata }
  /** `lastReport`: the driver's last reported location (null if none): the accept position must be reachable from it. */
  | { type: 'AcceptTrip'; data: { tripId: string; driverId: string; position: Position; lastReport: PositionReport | null }; metadata: CommandMetadata }
  | { type: 'AssignDriver'; data: { tripId: string; driverId: string }; metadata: CommandMetadata }
  | { type: 'FailDispatch'; data: { tripId: string; reason: DispatchFailureReason }; metadata: CommandMetadata }
  | { type: 'StartTrip'; data: { tripId: string }; metadata: CommandMetadata }
  | { type: 'FinishTrip'; data: { tripId: string }; metadata: CommandMetadata }
  | { type: 'CancelTrip'; data: { tripId: string; reason: string }; metadata: CommandMetadata }
  | { type: 'RespondToCancellation'; data: { tripId: string; agree: boolean }; metadata: CommandMetadata };

export type TripCommandType = TripCommand['type'];
