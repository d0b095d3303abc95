import { UnreachableCaseError } from '../errors.ts';
import type { PassengerEvent } from './events.ts';

export type PassengerState =
  | { status: 'unregistered' }
  | { status: 'registered'; id: string; name: string; banned: boolean };

export const initialPassengerState = (): PassengerState => ({ status: 'unregistered' });

export function evolvePassenger(state: PassengerState, event: PassengerEvent): PassengerState {
  switch (event.type) {
    case 'PassengerRegistered':
      return { status: 'registered', id: event.data.passengerId, name: event.data.name, banned: false };
    case 'PassengerDetailsUpdated':
      return state.status === 'registered' ? { ...state, name: event.data.name } : state;
    case 'PassengerBanned':
      return state.status === 'registered' ? { ...state, banned: true } : state;
    case 'PassengerUnbanned':
      return state.status === 'registered' ? { ...state, banned: false } : state;
    default:
      throw new UnreachableCaseError(event);
  }
}
