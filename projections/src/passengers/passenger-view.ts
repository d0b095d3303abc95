import { UnreachableCaseError } from '@happyride/domain';
import type { EventEnvelope } from '@happyride/eventstore';
import type { AggregateViewDocument, AggregateViewProjection } from '../aggregate-view.ts';

/** A passenger's profile as the `passenger(id)` query serves it. */
export interface PassengerView extends AggregateViewDocument {
  name: string;
  banned: boolean;
  registeredAt: string;
  updatedAt: string;
}

type PassengerFields = Omit<PassengerView, '_id' | 'version'>;

export function evolvePassengerView(doc: PassengerFields | null, event: EventEnvelope<'passenger'>): PassengerFields | null {
  switch (event.type) {
    case 'PassengerRegistered':
      return { name: event.data.name, banned: false, registeredAt: event.occurredAt, updatedAt: event.occurredAt };
    case 'PassengerDetailsUpdated':
      return doc && { ...doc, name: event.data.name, updatedAt: event.occurredAt };
    case 'PassengerBanned':
      return doc && { ...doc, banned: true, updatedAt: event.occurredAt };
    case 'PassengerUnbanned':
      return doc && { ...doc, banned: false, updatedAt: event.occurredAt };
    default:
      throw new UnreachableCaseError(event);
  }
}

export const passengersProjection: AggregateViewProjection<'passenger', PassengerView> = {
  name: 'passengers',
  collection: 'passengers',
  aggregateType: 'passenger',
  evolve: evolvePassengerView,
};
