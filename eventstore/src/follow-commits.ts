import type { AggregateType } from '@happyride/domain';
import { parseDelivery, pullExpiryFor } from './durable-consumer.ts';
import type { Commit } from './envelope.ts';
import type { JetStreamClient } from './nats.ts';
import { aggregateTypeSubject, EVENTS_STREAM } from './streams.ts';

/**
 * Reads the whole log of some aggregate types from the start, then follows it live, with an
 * ordered (ephemeral, in-memory) consumer: for in-memory state a process rebuilds on every
 * start, such as dispatch's index of available drivers. Nothing is acknowledged or stored.
 * @returns `caughtUp` resolves once everything recorded before the call has been handed to
 * `onCommit`; `done` resolves when `signal` aborts.
 */
export async function followCommits(
  js: JetStreamClient,
  aggregateTypes: readonly AggregateType[],
  onCommit: (commit: Commit) => void,
  { signal }: { signal: AbortSignal },
): Promise<{ caughtUp: Promise<void>; done: Promise<void> }> {
  const consumer = await js.consumers.get(EVENTS_STREAM, { filter_subjects: aggregateTypes.map(aggregateTypeSubject) });
  const info = await consumer.info();
  const pending = info.num_pending;
  let markCaughtUp = () => {};
  const caughtUp = new Promise<void>((resolve) => (markCaughtUp = resolve));
  if (pending === 0) markCaughtUp();
  // On a cluster, a dead consumer (its node killed) is noticed and recreated in ~5 s, not 30 (see `pullExpiryFor`).
  const messages = await consumer.consume(pullExpiryFor(info));
  const stop = () => void messages.close();
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop, { once: true });
  const done = (async () => {
    try {
      for await (const msg of messages) {
        // A message that is not a commit is skipped here (the durable consumers park it).
        const parsed = parseDelivery(msg);
        if (parsed.ok) onCommit(parsed.delivery.commit);
        if (msg.info.pending === 0) markCaughtUp();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      markCaughtUp();
    }
  })();
  return { caughtUp, done };
}
