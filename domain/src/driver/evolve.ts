import { UnreachableCaseError } from '../errors.ts';
import type { DriverEvent, Vehicle } from './events.ts';

export type DriverState =
  | { status: 'unregistered' }
  | { status: 'registered'; id: string; name: string; vehicle: Vehicle; online: boolean; activeTripId?: string };

export const initialDriverState = (): DriverState => ({ status: 'unregistered' });

export function evolveDriver(state: DriverState, event: DriverEvent): DriverState {
  switch (event.type) {
    case 'DriverRegistered':
      return { status: 'registered', id: event.data.driverId, name: event.data.name, vehicle: event.data.vehicle, online: false };
    case 'DriverDetailsUpdated':
      return state.status === 'registered' ? { ...state, name: event.data.name, vehicle: event.data.vehicle } : state;
    case 'DriverWentOnline':
      return state.status === 'registered' ? { ...state, online: true } : state;
    case 'DriverWentOffline':
      return state.status === 'registered' ? { ...state, online: false } : state;
    case 'DriverReservedForTrip':
      return state.status === 'registered' ? { ...state, activeTripId: event.data.tripId } : state;
    case 'DriverReleasedFromTrip': {
      if (state.status !== 'registered' || state.activeTripId !== event.data.tripId) return state;
      const rest = { ...state };
      delete rest.activeTripId;
      return rest;
    }
    default:
      throw new UnreachableCaseError(event);
  }
}
