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
 * Listens on `subject` and resolves only once nats-server has the interest registered (a
 * flush round trip after the SUB), so a notice published after this resolves is heard: a
 * subscriber that reads its first state after `await listenFirst(...)` misses no change.
 * The returned function unsubscribes.
 */
export async function listenFirst<T>(nats: Nats, subject: string, onNotice: (notice: T) => void): Promise<() => void> {
  const subscription = nats.connection.subscribe(subject, {
    callback: (error, message) => {
      if (error) return;
      let notice: T;
      try {
        notice = message.json<T>();
      } catch {
        return; // not ours: a notice is only a hint, a garbled one is ignored
      }
      onNotice(notice);
    },
  });
  try {
    await nats.connection.flush();
  } catch (error) {
    subscription.unsubscribe();
    throw error;
  }
  return () => subscription.unsubscribe();
}

/**
 * Calls `onReconnect` after every reconnect of the connection to nats-server. Core NATS
 * notices published while it was away are lost for good, so whoever follows them reads again.
 * The returned function stops watching.
 */
export function onNatsReconnect(nats: Nats, onReconnect: () => void): () => void {
  let stopped = false;
  const statuses = nats.connection.status()[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await statuses.next();
      if (next.done || stopped) return;
      if (next.value.type === 'reconnect') onReconnect();
    }
  })();
  return () => {
    stopped = true;
    void statuses.return?.();
  };
}
