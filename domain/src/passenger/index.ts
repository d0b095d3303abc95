import type { Decider } from '../decider.ts';
import type { PassengerCommand } from './commands.ts';
import { decidePassenger } from './decide.ts';
import type { PassengerEvent } from './events.ts';
import { evolvePassenger, initialPassengerState, type PassengerState } from './evolve.ts';

export type { PassengerCommand } from './commands.ts';
export type { PassengerEvent } from './events.ts';
export type { PassengerState } from './evolve.ts';

export const passengerDecider: Decider<PassengerCommand, PassengerEvent, PassengerState> = {
  decide: decidePassenger,
  evolve: evolvePassenger,
  initialState: initialPassengerState,
};
