import type { DriverEvent } from './driver/events.ts';
import type { PassengerEvent } from './passenger/events.ts';
import type { PaymentEvent } from './payment/events.ts';
import type { TripEvent } from './trip/events.ts';

/**
 * The aggregate types and the events each one records: the one map the event store, the
 * projectors and the subscriptions share. Adding an aggregate here makes every exhaustive
 * `switch` over `DomainEvent` fail to compile until it is handled.
 */
export interface EventsByAggregate {
  passenger: PassengerEvent;
  driver: DriverEvent;
  trip: TripEvent;
  payment: PaymentEvent;
}

export type AggregateType = keyof EventsByAggregate;
export type DomainEvent = EventsByAggregate[AggregateType];
export const aggregateTypes = ['passenger', 'driver', 'trip', 'payment'] as const satisfies readonly AggregateType[];
