import { batchLimit } from './catch-up-batches.ts';
import { parseDelivery, type Delivery } from './durable-consumer.ts';
import type { JetStreamClient } from './nats.ts';
import { EVENTS_STREAM } from './streams.ts';

export interface ReplayOptions {
  /** Most commits handed to the handler at once once near the end. */
  maxBatch?: number;
  /** Most commits handed over at once while more than `maxBatch` are pending (default `maxBatch`): see `catch-up-batches.ts`. */
  catchUpBatch?: number;
  /** How long one pull waits for more commits (ms). */
  fetchWaitMs?: number;
  /**
   * Stops early once this says so after a batch (given its last sequence and what is still
   * pending): a reader that need not chase a stream being appended to without pause.
   */
  enough?: (lastSequence: number, pending: number) => boolean;
  signal?: AbortSignal;
}

/**
 * Reads the event stream from its start through an ordered consumer (ephemeral, no acks, in
 * stream order) over `subjects`, handing over batches with how many matching commits are
 * still pending after the last one. Resolves once caught up (nothing pending) or `enough`, with the
 * stream sequence of the last commit handed over (0 if none). A failing handler stops the
 * replay (the error is thrown); nothing is acknowledged, so nothing is lost for anyone else.
 */
export async function replayCommits(
  js: JetStreamClient,
  subjects: readonly string[],
  handle: (batch: readonly Delivery[], pending: number) => Promise<void>,
  { maxBatch = 500, catchUpBatch = maxBatch, fetchWaitMs = 1000, enough = () => false, signal }: ReplayOptions = {},
): Promise<number> {
  const consumer = await js.consumers.get(EVENTS_STREAM, { filter_subjects: [...subjects] });
  let last = 0;
  // Unknown before the first fetch: a head batch first, then as many as the pending count warrants.
  let pending = 0;
  try {
    while (!signal?.aborted) {
      const batch: Delivery[] = [];
      const size = batchLimit({ inHand: 0, buffered: 0, onServer: pending }, { atHead: maxBatch, behind: catchUpBatch });
      pending = 0;
      const messages = await consumer.fetch({ max_messages: size, expires: fetchWaitMs });
      for await (const msg of messages) {
        // A message that is not a commit can never be applied: the live consumers park it.
        const parsed = parseDelivery(msg);
        if (parsed.ok) batch.push(parsed.delivery);
        last = msg.seq;
        pending = msg.info.pending;
        if (pending === 0) break;
      }
      if (batch.length > 0) await handle(batch, pending);
      if (pending === 0 || (batch.length > 0 && enough(last, pending))) return last;
    }
    return last;
  } finally {
    await consumer.delete().catch(() => {});
  }
}
