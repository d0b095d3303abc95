import type { Nats } from '@happyride/eventstore';
import type { Logger } from './logger.ts';
import { NoticeInvalidatedCache, type NoticeCacheOptions } from './notice-cache.ts';

export interface NoticeFollowingCache {
  cache: NoticeInvalidatedCache;
  /** Stops listening; the cache then loads every read. */
  stop(): void;
}

/**
 * A `NoticeInvalidatedCache` that listens on `subject` (e.g. `updates.trip.*`) with a callback,
 * which nats.js calls as it parses the message, before any later PONG resolves. A read is in
 * step after a PING sent once it came is answered (readers share PINGs: see `inStep`); it
 * is not while the connection is down (a reconnect drops everything: notices sent meanwhile are
 * lost), when the PONG takes longer than `syncTimeoutMs`, or after the subscription failed.
 */
export async function followNoticesWithCache(
  nats: Nats,
  subject: string,
  { logger, syncTimeoutMs = 1_000, ...options }: Omit<NoticeCacheOptions, 'inStep'> & { logger: Logger; syncTimeoutMs?: number },
): Promise<NoticeFollowingCache> {
  const { connection } = nats;
  let usable = true;
  let connected = true;
  /** The PING in flight, and the readers waiting for the next one. */
  let current: Promise<boolean> | null = null;
  let following: Promise<boolean> | null = null;
  /** Whether the last PING was answered in time. */
  let answering = true;
  const ping = (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), syncTimeoutMs)));
    const sent = Promise.race([connection.flush().then(() => true, () => false), late]).then((answered) => {
      clearTimeout(timer);
      if (current === sent) current = null;
      answering = answered;
      return answered;
    });
    current = sent;
    return sent;
  };
  // A reader needs a PING sent after it came: the one in flight may have left before, so it
  // waits for the next, sent once that one is answered and the event loop has taken in what else
  // came (setImmediate), so it serves every reader of those turns. A PING is a socket write
  // whose loopback delivery the kernel charges to the writer: one per read was a fifth of
  // trip-queries' CPU.
  const inStep = (): Promise<boolean> => {
    if (!usable || !connected) return Promise.resolve(false);
    // Once a PONG was late (a stalled server), reads go to MongoDB at once until one comes back.
    if (!answering) {
      if (current === null) void ping();
      return Promise.resolve(false);
    }
    following ??= (current ?? Promise.resolve(true))
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        following = null;
        return ping();
      });
    return following;
  };
  const cache = new NoticeInvalidatedCache({ ...options, inStep });
  const subscription = connection.subscribe(subject, {
    callback: (error) => {
      cache.invalidate();
      if (error && usable) {
        usable = false;
        logger.error({ err: error, subject }, 'notices not heard: answers are no longer cached');
      }
    },
  });
  await connection.flush();
  let stopped = false;
  const statuses = connection.status()[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const status = await statuses.next();
      if (status.done || stopped) return;
      if (status.value.type === 'disconnect') connected = false;
      if (status.value.type === 'disconnect' || status.value.type === 'reconnect') cache.invalidate();
      // The subscription is sent again before `reconnect`; the next PING follows it.
      if (status.value.type === 'reconnect') connected = true;
    }
  })();
  return {
    cache,
    stop() {
      stopped = true;
      usable = false;
      cache.invalidate();
      subscription.unsubscribe();
      void statuses.return?.();
    },
  };
}
