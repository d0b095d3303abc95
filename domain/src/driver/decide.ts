import type { Actor } from '../decider.ts';
import { forbidden, illegalState, invalidInput, notFound, UnreachableCaseError } from '../errors.ts';
import { validId, validName } from '../validation.ts';
import type { DriverCommand } from './commands.ts';
import type { DriverEvent, Vehicle } from './events.ts';
import type { DriverState } from './evolve.ts';

type Registered = Extract<DriverState, { status: 'registered' }>;

export const MAX_PLATE_LENGTH = 20;
const PLATE_PATTERN = new RegExp(`^[\\p{L}\\p{N} -]{1,${MAX_PLATE_LENGTH}}$`, 'u');

/**
 * A licence plate: trimmed and upper-cased, 1 to 20 letters (any script), digits, spaces or '-'.
 * @example validPlate(' 京a-12345 ', 'vehicle.plate') // → '京A-12345'
 */
export function validPlate(raw: string, field: string): string {
  const plate = raw.trim().toUpperCase();
  if (!PLATE_PATTERN.test(plate)) {
    throw invalidInput(`${field} must be 1 to ${MAX_PLATE_LENGTH} letters, digits, spaces or '-'; got ${JSON.stringify(raw.slice(0, 40))}.`);
  }
  return plate;
}

export function validVehicle(raw: Vehicle): Vehicle {
  return { plate: validPlate(raw.plate, 'vehicle.plate'), model: validName(raw.model, 'vehicle.model') };
}

function mustExist(state: DriverState, driverId: string): Registered {
  if (state.status !== 'registered') throw notFound(`Driver ${driverId} is not registered.`);
  return state;
}

const isSelf = (actor: Actor, driverId: string) => actor.role === 'driver' && actor.id === driverId;

export function decideDriver(command: DriverCommand, state: DriverState): DriverEvent[] {
  const { actor } = command.metadata;
  const driverId = validId(command.data.driverId, 'driverId');
  switch (command.type) {
    case 'RegisterDriver': {
      if (!isSelf(actor, driverId)) {
        throw forbidden('A driver registers themself: sign in with the driver role; your id becomes the driver id.');
      }
      const name = validName(command.data.name, 'name');
      const vehicle = validVehicle(command.data.vehicle);
      if (state.status === 'registered') throw illegalState(`Driver ${driverId} is already registered.`);
      return [{ type: 'DriverRegistered', data: { driverId, name, vehicle } }];
    }
    case 'UpdateDriverDetails': {
      if (!isSelf(actor, driverId) && actor.role !== 'admin') {
        throw forbidden('Only the driver themself or an admin may change these details.');
      }
      const { name: rawName, vehicle: rawVehicle } = command.data;
      if (rawName === undefined && rawVehicle === undefined) {
        throw invalidInput('Give at least one of name or vehicle to update.');
      }
      const newName = rawName === undefined ? undefined : validName(rawName, 'name');
      const newVehicle = rawVehicle === undefined ? undefined : validVehicle(rawVehicle);
      const driver = mustExist(state, driverId);
      const name = newName ?? driver.name;
      const vehicle = newVehicle ?? driver.vehicle;
      const unchanged =
        name === driver.name && vehicle.plate === driver.vehicle.plate && vehicle.model === driver.vehicle.model;
      if (unchanged) return [];
      return [{ type: 'DriverDetailsUpdated', data: { driverId, name, vehicle } }];
    }
    case 'GoOnline': {
      if (!isSelf(actor, driverId)) throw forbidden('Only the driver themself may go online.');
      const driver = mustExist(state, driverId);
      if (driver.online) throw illegalState(`Driver ${driverId} is already online.`);
      return [{ type: 'DriverWentOnline', data: { driverId } }];
    }
    case 'GoOffline': {
      if (!isSelf(actor, driverId) && actor.role !== 'admin') {
        throw forbidden('Only the driver themself or an admin may take a driver offline.');
      }
      const driver = mustExist(state, driverId);
      if (!driver.online) throw illegalState(`Driver ${driverId} is already offline.`);
      return [{ type: 'DriverWentOffline', data: { driverId } }];
    }
    case 'ReserveDriverForTrip': {
      if (actor.role !== 'system') throw forbidden('ReserveDriverForTrip is an internal command: only dispatch may send it.');
      const tripId = validId(command.data.tripId, 'tripId');
      const driver = mustExist(state, driverId);
      if (driver.activeTripId === tripId) return [];
      if (driver.activeTripId !== undefined) {
        throw illegalState(`Driver ${driverId} cannot take trip ${tripId}: they are already on trip ${driver.activeTripId}.`);
      }
      if (!driver.online) throw illegalState(`Driver ${driverId} cannot take trip ${tripId}: they are offline.`);
      return [{ type: 'DriverReservedForTrip', data: { driverId, tripId } }];
    }
    case 'ReleaseDriverFromTrip': {
      if (actor.role !== 'system') throw forbidden('ReleaseDriverFromTrip is an internal command: only dispatch may send it.');
      const tripId = validId(command.data.tripId, 'tripId');
      const driver = mustExist(state, driverId);
      if (driver.activeTripId !== tripId) return [];
      return [{ type: 'DriverReleasedFromTrip', data: { driverId, tripId } }];
    }
    default:
      throw new UnreachableCaseError(command);
  }
}
