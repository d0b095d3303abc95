import type { Decider } from '../decider.ts';
import type { DriverCommand } from './commands.ts';
import { decideDriver } from './decide.ts';
import type { DriverEvent } from './events.ts';
import { evolveDriver, initialDriverState, type DriverState } from './evolve.ts';

export type { DriverCommand } from './commands.ts';
export { MAX_PLATE_LENGTH, validPlate, validVehicle } from './decide.ts';
export type { DriverEvent, Vehicle } from './events.ts';
export type { DriverState } from './evolve.ts';
export { validDriverLocation, type DriverLocation } from './location.ts';
export { checkPlausibleMove, defaultMovementLimits, impliedSpeedKmh, type MovementLimits, type PositionReport } from './plausibility.ts';

export const driverDecider: Decider<DriverCommand, DriverEvent, DriverState> = {
  decide: decideDriver,
  evolve: evolveDriver,
  initialState: initialDriverState,
};
