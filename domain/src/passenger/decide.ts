import type { Actor } from '../decider.ts';
import { forbidden, illegalState, notFound, UnreachableCaseError } from '../errors.ts';
import { validId, validName } from '../validation.ts';
import type { PassengerCommand } from './commands.ts';
import type { PassengerEvent } from './events.ts';
import type { PassengerState } from './evolve.ts';

type Registered = Extract<PassengerState, { status: 'registered' }>;

function mustExist(state: PassengerState, passengerId: string): Registered {
  if (state.status !== 'registered') throw notFound(`Passenger ${passengerId} is not registered.`);
  return state;
}

function mustBeSelfOrAdmin(actor: Actor, passengerId: string): void {
  if (actor.role === 'admin') return;
  if (actor.role !== 'passenger' || actor.id !== passengerId) {
    throw forbidden('Only the passenger themself or an admin may change these details.');
  }
}

function mustBeAdmin(actor: Actor): void {
  if (actor.role !== 'admin') throw forbidden('Only an admin may ban or unban passengers.');
}

export function decidePassenger(command: PassengerCommand, state: PassengerState): PassengerEvent[] {
  const { actor } = command.metadata;
  const passengerId = validId(command.data.passengerId, 'passengerId');
  switch (command.type) {
    case 'RegisterPassenger': {
      if (actor.role !== 'passenger' || actor.id !== passengerId) {
        throw forbidden('A passenger registers themself: sign in with the passenger role; your id becomes the passenger id.');
      }
      const name = validName(command.data.name, 'name');
      if (state.status === 'registered') throw illegalState(`Passenger ${passengerId} is already registered.`);
      return [{ type: 'PassengerRegistered', data: { passengerId, name } }];
    }
    case 'UpdatePassengerDetails': {
      mustBeSelfOrAdmin(actor, passengerId);
      const name = validName(command.data.name, 'name');
      const passenger = mustExist(state, passengerId);
      if (passenger.name === name) return [];
      return [{ type: 'PassengerDetailsUpdated', data: { passengerId, name } }];
    }
    case 'BanPassenger': {
      mustBeAdmin(actor);
      const passenger = mustExist(state, passengerId);
      if (passenger.banned) throw illegalState(`Passenger ${passengerId} is already banned.`);
      return [{ type: 'PassengerBanned', data: { passengerId } }];
    }
    case 'UnbanPassenger': {
      mustBeAdmin(actor);
      const passenger = mustExist(state, passengerId);
      if (!passenger.banned) throw illegalState(`Passenger ${passengerId} is not banned.`);
      return [{ type: 'PassengerUnbanned', data: { passengerId } }];
    }
    default:
      throw new UnreachableCaseError(command);
  }
}
