import { UnreachableCaseError, type Vehicle } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import type { AggregateViewDocument, AggregateViewProjection } from '../aggregate-view.ts';

/** A driver's profile and availability as the queries serve it. */
export interface DriverView extends AggregateViewDocument {
  name: string;
  vehicle: Vehicle;
  online: boolean;
  registeredAt: string;
  updatedAt: string;
}

type DriverFields = Omit<DriverView, '_id' | 'version'>;

export function evolveDriverView(doc: DriverFields | null, event: EventEnvelope<'driver'>): DriverFields | null {
  switch (event.type) {
    case 'DriverRegistered': {
      const { name, vehicle } = event.data;
      return { name, vehicle: { plate: vehicle.plate, model: vehicle.model }, online: false, registeredAt: event.occurredAt, updatedAt: event.occurredAt };
    }
    case 'DriverDetailsUpdated': {
      const { name, vehicle } = event.data;
      return doc && { ...doc, name, vehicle: { plate: vehicle.plate, model: vehicle.model }, updatedAt: event.occurredAt };
    }
    case 'DriverWentOnline':
      return doc && { ...doc, online: true, updatedAt: event.occurredAt };
    case 'DriverWentOffline':
      return doc && { ...doc, online: false, updatedAt: event.occurredAt };
    case 'DriverReservedForTrip':
    case 'DriverReleasedFromTrip':
      return doc; // dispatch's bookkeeping: the trips read model shows who drives what
    default:
      throw new UnreachableCaseError(event);
  }
}

export const driversProjection: AggregateViewProjection<'driver', DriverView> = {
  name: 'drivers',
  collection: 'drivers',
  aggregateType: 'driver',
  evolve: evolveDriverView,
};
