import { DeadLetterGuard, type DeadLetterPolicy } from './dead-letters.ts';
import type { Commit } from './envelope.ts';
import type { JetStreamClient, JsMsg } from './nats.ts';
import { EVENTS_STREAM, HEADER } from './streams.ts';

/** One delivered commit and where it sits in the stream. */
export interface Delivery {
  commit: Commit;
  streamSequence: number;
  deliveryCount: number;
  /** W3C trace context of the append (NATS header), when it was traced. */
  traceparent?: string;
}

export interface ConsumeOptions {
  /** Most commits handed to the handler at once. */
  maxBatch?: number;
  /** First delay before a failed batch is retried (doubling, at most 15 s). */
  retryDelayMs?: number;
  onError?: (error: unknown, batch: readonly Delivery[]) => void;
  signal?: AbortSignal;
  /** Park poison commits instead of retrying them forever (see dead-letters.ts). */
  deadLetters?: DeadLetterPolicy;
}

/**
 * Reads a durable consumer in micro-batches: whatever has arrived when the handler is free is
 * handed over at once (one message when idle, up to `maxBatch` under load), acknowledged only
 * after the handler resolved. A failed batch is retried in place, in order; after a crash
 * JetStream delivers unacknowledged commits again, so handlers must be idempotent. A broken subscription is set up again, as nats.js recommends.
 *
 * Resolves when `signal` aborts.
 */
export async function consumeCommits(
  js: JetStreamClient,
  consumerName: string,
  handle: (batch: readonly Delivery[]) => Promise<void>,
  { maxBatch = 500, retryDelayMs = 1000, onError = () => {}, signal, deadLetters }: ConsumeOptions = {},
): Promise<void> {
  if (deadLetters) {
    const guard = new DeadLetterGuard(consumerName, handle, deadLetters);
    handle = (batch) => guard.handleBatch(batch);
    void pollRetries(guard, deadLetters.retryPollMs ?? 2_000, onError, signal);
  }
  while (!signal?.aborted) {
    try {
      const consumer = await js.consumers.get(EVENTS_STREAM, consumerName);
      const messages = await consumer.consume({ max_messages: Math.max(maxBatch * 2, 100) });
      const stop = () => void messages.close();
      signal?.addEventListener('abort', stop, { once: true });
      let batch: JsMsg[] = [];
      try {
        for await (const msg of messages) {
          batch.push(msg);
          if (messages.getPending() > 0 && batch.length < maxBatch) continue;
          const handed = batch;
          batch = [];
          await deliver(handed, handle, retryDelayMs, onError, signal);
        }
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    } catch (error) {
      if (signal?.aborted) break;
      onError(error, []);
      await sleep(retryDelayMs, signal);
    }
  }
}

async function deliver(
  messages: JsMsg[],
  handle: (batch: readonly Delivery[]) => Promise<void>,
  retryDelayMs: number,
  onError: (error: unknown, batch: readonly Delivery[]) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const batch = messages.map((msg) => ({
    commit: msg.json<Commit>(),
    streamSequence: msg.seq,
    deliveryCount: msg.info.deliveryCount,
    ...traceOf(msg),
  }));
  // A failed batch is retried here, in order, before anything after it: later events of the
  // same aggregate never overtake it. `working()` keeps JetStream from redelivering meanwhile.
  for (let attempt = 0; !signal?.aborted; attempt++) {
    try {
      await handle(batch);
      for (const msg of messages) msg.ack();
      return;
    } catch (error) {
      onError(error, batch);
      for (const msg of messages) msg.working();
      await sleep(Math.min(retryDelayMs * 2 ** attempt, 15_000), signal);
    }
  }
}

function traceOf(msg: JsMsg): { traceparent?: string } {
  const traceparent = msg.headers?.get(HEADER.traceparent);
  return traceparent ? { traceparent } : {};
}

async function pollRetries(
  guard: DeadLetterGuard,
  intervalMs: number,
  onError: (error: unknown, batch: readonly Delivery[]) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  while (!signal?.aborted) {
    await sleep(intervalMs, signal);
    if (signal?.aborted) break;
    await guard.processRetries().catch((error: unknown) => onError(error, []));
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
