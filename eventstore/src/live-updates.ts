import type { Nats } from './nats.ts';

/**
 * Read-model change notices on core NATS (not JetStream: a notice is a hint to re-read,
 * worth nothing once stale). Projectors publish after their write; every gateway instance
 * hears every notice, so any instance can serve any subscriber.
 */
export const tripUpdatedSubject = (tripId: string) => `updates.trip.${tripId}`;

export interface TripUpdatedNotice {
  tripId: string;
  version: number;
}

export function publishTripUpdated(nats: Nats, notice: TripUpdatedNotice): void {
  nats.connection.publish(tripUpdatedSubject(notice.tripId), JSON.stringify(notice));
}

/**
 * The notices on one subject as an async iterable; `return()` (a `for await` that ends, or
 * graphql-ws completing the operation) unsubscribes.
 */
export function listen<T>(nats: Nats, subject: string): AsyncIterableIterator<T> {
  const subscription = nats.connection.subscribe(subject);
  const messages = subscription[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const result = await messages.next();
      return result.done ? { done: true, value: undefined } : { done: false, value: result.value.json<T>() };
    },
    async return() {
      subscription.unsubscribe();
      return { done: true, value: undefined };
    },
  };
}
