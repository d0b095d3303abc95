import { createConsumerFrom, ensureConsumer } from './bootstrap.ts';
import { catchUpSizes, handOver } from './catch-up-batches.ts';
import type { ConsumerDefinition } from './consumers.ts';
import { DeadLetterGuard, malformedLetter, type DeadLetter, type DeadLetterPolicy } from './dead-letters.ts';
import { sleep } from './sleep.ts';
import type { Commit } from './envelope.ts';
import { DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerConfig, type JetStreamClient, type JetStreamManager, type JsMsg } from './nats.ts';
import { EVENTS_STREAM, HEADER } from './streams.ts';

/** One delivered commit and where it sits in the stream. */
export interface Delivery {
  commit: Commit;
  streamSequence: number;
  deliveryCount: number;
  /** W3C trace context of the append (NATS header), when it was traced. */
  traceparent?: string;
}

/** What the consumer loop noticed about its subscription (for the logs). */
export type ConsumerStatus =
  | { type: 'consumer_deleted' | 'consumer_not_found' | 'stream_not_found' | 'heartbeats_missed'; detail: string }
  | { type: 'recreated'; startSequence: number; reason: string }
  | { type: 'restarted_in_order'; startSequence: number; reason: string }
  | { type: 'malformed'; streamSequence: number; subject: string; error: string };

export interface ConsumeOptions {
  /** Most commits handed to the handler at once at the head. */
  maxBatch?: number;
  /**
   * Most commits handed over at once while far behind the head (more than `maxBatch` commits
   * in hand and pending): the loop then waits for the next pull instead of handing over what
   * the buffer holds, up to this many (capped by the consumer's `max_ack_pending`). Default
   * `maxBatch` (no catch-up batches). See `catch-up-batches.ts`.
   */
  catchUpBatch?: number;
  /** While waiting for a catch-up batch to fill, hand over what is in hand after this long without a delivery (ms; default 250). */
  catchUpIdleMs?: number;
  /** First delay before a failed batch is retried (doubling, at most 15 s). */
  retryDelayMs?: number;
  onError?: (error: unknown, batch: readonly Delivery[]) => void;
  signal?: AbortSignal;
  /** Park poison commits instead of retrying them forever (see dead-letters.ts). */
  deadLetters?: DeadLetterPolicy;
  /**
   * Hand commits over strictly in stream order, each once per process (projectors): every
   * (re)subscription starts right after the last commit this process handled (at start: the
   * consumer's ack floor), so deliveries a dead reader left unacknowledged, or that went
   * missing in flight, are read again at once instead of after `ack_wait`, and never after
   * their successors. See `startInOrder`.
   */
  inOrder?: boolean;
  /** How to create the consumer if it does not exist and was never seen by this loop (else the loop fails). */
  definition?: ConsumerDefinition;
  onStatus?: (status: ConsumerStatus) => void;
  /**
   * Which commits (by subject) this reader handles: the others are acknowledged unread, in
   * their place in the stream (a partition's reader skipping the other partitions' commits).
   * Default: all.
   */
  accept?: (subject: string) => boolean;
  /** After each batch handled (and acknowledged): its last stream sequence, and how many matching commits are still pending. */
  onProgress?: (lastSequence: number, pending: number) => void;
}

/** The durable consumer is gone and cannot be recreated: the loop stops with this error. */
export class ConsumerLostError extends Error {
  override readonly name = 'ConsumerLostError';
}

/**
 * Reads a durable consumer in micro-batches: whatever has arrived when the handler is free is
 * handed over at once (one message when idle, up to `maxBatch` under load), or, far behind the
 * head, up to `catchUpBatch` at once; acknowledged only after the handler resolved. A failed batch is retried in place, in order; after a crash
 * JetStream delivers unacknowledged commits again, so handlers must be idempotent.
 *
 * The loop watches its subscription's status: a deleted consumer is recreated as it was,
 * starting right after the last commit handled (or from `definition` if it was never seen);
 * a subscription that breaks is set up again, as nats.js recommends. A message that is not a
 * commit is parked as a dead letter at once (or, without dead letters, reported and dropped).
 *
 * Resolves when `signal` aborts; rejects (`ConsumerLostError`) when the consumer or the stream
 * is gone for good.
 */
export async function consumeCommits(
  js: JetStreamClient,
  consumerName: string,
  handle: (batch: readonly Delivery[]) => Promise<void>,
  {
    maxBatch = 500,
    catchUpBatch = maxBatch,
    catchUpIdleMs = 250,
    retryDelayMs = 1000,
    onError = () => {},
    signal,
    deadLetters,
    inOrder = false,
    definition,
    onStatus = () => {},
    onProgress = () => {},
    accept,
  }: ConsumeOptions = {},
): Promise<void> {
  let park = async (letters: readonly DeadLetter[]) => {
    for (const letter of letters) onError(new Error(`${letter.error} (stream sequence ${letter.streamSequence}); dropped`), []);
  };
  if (deadLetters) {
    const guard = new DeadLetterGuard(consumerName, handle, deadLetters);
    handle = (batch) => guard.handleBatch(batch);
    park = (letters) => guard.parkMalformed(letters);
    void pollRetries(guard, deadLetters.retryPollMs ?? 2_000, onError, signal);
  }
  const jsm = await js.jetstreamManager(false);
  /** The last stream sequence this process handled; null before the first batch. */
  let last: number | null = null;
  /** The consumer's configuration and ack floor as last seen, to recreate it if it is deleted. */
  let config: ConsumerConfig | null = null;
  let floor = 0;
  while (!signal?.aborted) {
    let close = () => {};
    try {
      const info = await consumerInfo(jsm, consumerName);
      if (info === null) {
        // Right after what was handled: nothing acknowledged is delivered again, nothing after it is skipped.
        const startSequence = Math.max(last ?? 0, floor) + 1;
        if (config) await recreateConsumer(jsm, config, startSequence);
        else if (definition) await createConsumer(jsm, definition, last);
        else throw new ConsumerLostError(`The durable consumer ${consumerName} does not exist: run the bootstrap step (npm run bootstrap).`);
        onStatus({ type: 'recreated', startSequence, reason: 'the consumer was missing' });
        continue;
      }
      config = info.config;
      floor = Math.max(floor, info.ack_floor.stream_seq);
      let nextDelivery: number | null = null;
      if (inOrder) {
        const start = await startInOrder(jsm, info, last);
        last = start.after;
        nextDelivery = start.nextDelivery;
        if (start.recreated) onStatus({ type: 'restarted_in_order', startSequence: start.after + 1, reason: start.recreated });
      }
      const consumer = await js.consumers.get(EVENTS_STREAM, consumerName);
      const sizes = catchUpSizes(maxBatch, catchUpBatch, info.config.max_ack_pending);
      const messages = await consumer.consume({ max_messages: Math.max(maxBatch * 2, 100), ...pullExpiryFor(info) });
      close = () => void messages.close();
      signal?.addEventListener('abort', close, { once: true });
      // Stopped during the awaits above (a partition given up while its consumer was being
      // looked up or recreated): the listener came too late to hear it.
      if (signal?.aborted) close();
      void watchStatus(messages.status(), onStatus, close);
      let batch: JsMsg[] = [];
      const handOverBatch = async () => {
        const handed = batch;
        batch = [];
        await deliver(handed, handle, park, consumerName, retryDelayMs, onError, onStatus, signal, accept);
        if (signal?.aborted) return;
        last = handed.at(-1)!.seq;
        onProgress(last, handed.at(-1)!.info.pending);
      };
      const arrivals = messages[Symbol.asyncIterator]();
      let arriving: Promise<IteratorResult<JsMsg>> | null = null;
      for (;;) {
        arriving ??= arrivals.next();
        // A batch in hand waits for more, but not for ever: a pending count gone stale (nats.js's
        // `getPending()` also counts status callbacks it has run) must not hold it past `ack_wait`.
        const arrived = batch.length > 0 ? await raceIdle(arriving, catchUpIdleMs) : await arriving;
        if (arrived === IDLE) {
          await handOverBatch();
          if (signal?.aborted) break;
          continue;
        }
        arriving = null;
        if (arrived.done) break;
        const msg = arrived.value;
        if (inOrder) {
          // A delivery that went missing (lost in flight, or held by the server for a dead
          // reader): start again right after what was handled rather than wait for it.
          if (nextDelivery !== null && msg.info.deliverySequence !== nextDelivery) {
            onStatus({ type: 'restarted_in_order', startSequence: (last ?? 0) + 1, reason: `delivery ${nextDelivery} is missing (got ${msg.info.deliverySequence})` });
            break;
          }
          nextDelivery = msg.info.deliverySequence + 1;
          if (last !== null && msg.seq <= last) {
            msg.ack(); // handled already (a redelivery of an acknowledged-late commit)
            continue;
          }
          // In hand already (redelivered after `ack_wait`): the one in hand is acknowledged with the batch.
          if (batch.length > 0 && msg.seq <= batch.at(-1)!.seq) continue;
        }
        batch.push(msg);
        // At most the limit in hand, skipped ones included: the server stops delivering at the
        // consumer's ack-pending limit, so a batch waiting for more accepted commits could wait for ever.
        if (!handOver({ inHand: batch.length, buffered: messages.getPending(), onServer: msg.info.pending }, sizes)) continue;
        await handOverBatch();
        if (signal?.aborted) break;
      }
    } catch (error) {
      if (signal?.aborted) break;
      if (error instanceof ConsumerLostError) throw error;
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        throw new ConsumerLostError(`The event stream is gone: ${error.message}`, { cause: error });
      }
      onError(error, []);
      await sleep(retryDelayMs, signal);
    } finally {
      close();
      signal?.removeEventListener('abort', close);
    }
  }
}

/** Consumer info, or null when the consumer does not exist. */
async function consumerInfo(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.consumers.info(EVENTS_STREAM, name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) return null;
    throw error;
  }
}

/**
 * Before an in-order subscription: where it must start, and whether the consumer had to be
 * reset there. The checkpoint is the last commit this process handled, or at start the
 * consumer's ack floor: every commit up to it was applied (acks follow the handler), and
 * applying one again is harmless (handlers are idempotent). If the consumer has deliveries
 * awaiting an ack (a dead reader's, or lost ones) or delivered past the checkpoint, JetStream
 * would hand them over again only after `ack_wait`, after their successors: the consumer is
 * then recreated starting right after the checkpoint (same configuration), which drops them.
 * One reader per consumer (the projector's lease) makes the delete-and-add safe.
 */
async function startInOrder(
  jsm: JetStreamManager,
  info: { config: ConsumerConfig; num_ack_pending: number; delivered: { consumer_seq: number; stream_seq: number }; ack_floor: { stream_seq: number } },
  last: number | null,
): Promise<{ after: number; nextDelivery: number; recreated: string | null }> {
  const after = last ?? info.ack_floor.stream_seq;
  if (info.num_ack_pending === 0 && info.delivered.stream_seq <= after) {
    return { after, nextDelivery: info.delivered.consumer_seq + 1, recreated: null };
  }
  await recreateConsumer(jsm, info.config, after + 1);
  return { after, nextDelivery: 1, recreated: `${info.num_ack_pending} deliveries were awaiting an ack` };
}

/** Deletes and adds the consumer again with its configuration, delivering from `startSequence`. */
async function recreateConsumer(jsm: JetStreamManager, config: ConsumerConfig, startSequence: number): Promise<void> {
  const name = config.durable_name ?? config.name;
  if (!name) throw new ConsumerLostError('cannot recreate a consumer without a name');
  const { opt_start_time: _time, metadata: _metadata, ...rest } = config;
  await jsm.consumers.delete(EVENTS_STREAM, name).catch((error: unknown) => {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)) throw error;
  });
  await jsm.consumers.add(EVENTS_STREAM, { ...rest, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, startSequence) });
}

/** A consumer never seen by this loop, from its catalogue definition (after `last` if known). */
async function createConsumer(jsm: JetStreamManager, definition: ConsumerDefinition, last: number | null): Promise<void> {
  if (last === null) await ensureConsumer(jsm, definition);
  else await createConsumerFrom(jsm, definition, definition.name, last + 1);
}

/** Reports what matters of a subscription's status; closes it when its consumer or stream is gone, so the loop sets up again. */
async function watchStatus(
  status: AsyncIterable<{ type: string } & Record<string, unknown>>,
  onStatus: (status: ConsumerStatus) => void,
  close: () => void,
): Promise<void> {
  for await (const event of status) {
    switch (event.type) {
      case 'consumer_deleted':
      case 'consumer_not_found':
      case 'stream_not_found':
        onStatus({ type: event.type, detail: JSON.stringify(event) });
        close();
        return;
      case 'heartbeats_missed':
        onStatus({ type: event.type, detail: JSON.stringify(event) });
        break;
      default:
    }
  }
}

export type Parsed = { ok: true; delivery: Delivery } | { ok: false; subject: string; streamSequence: number; raw: string; error: string };

/** A message as a delivery, or why it is not a commit (not JSON, or not an envelope). */
export function parseDelivery(msg: JsMsg): Parsed {
  const raw = msg.string();
  try {
    const commit: unknown = JSON.parse(raw);
    const problem = commitProblem(commit);
    if (problem) return { ok: false, subject: msg.subject, streamSequence: msg.seq, raw, error: problem };
    return { ok: true, delivery: { commit: commit as Commit, streamSequence: msg.seq, deliveryCount: msg.info.deliveryCount, ...traceOf(msg) } };
  } catch (error) {
    return { ok: false, subject: msg.subject, streamSequence: msg.seq, raw, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Why a parsed message is not a commit envelope; null when it is one. */
export function commitProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const commit = value as Record<string, unknown>;
  for (const field of ['commandId', 'aggregateType', 'aggregateId'] as const) {
    if (typeof commit[field] !== 'string' || commit[field] === '') return `no ${field}`;
  }
  if (!Number.isInteger(commit['version']) || (commit['version'] as number) < 1) return 'no version';
  const events = commit['events'];
  if (!Array.isArray(events)) return 'no events';
  for (const event of events as unknown[]) {
    if (typeof event !== 'object' || event === null) return 'an event is not an object';
    const e = event as Record<string, unknown>;
    if (typeof e['type'] !== 'string' || e['aggregateType'] !== commit['aggregateType'] || e['aggregateId'] !== commit['aggregateId'] || !Number.isInteger(e['version'])) {
      return 'an event is not an envelope of this aggregate';
    }
  }
  return null;
}

async function deliver(
  messages: JsMsg[],
  handle: (batch: readonly Delivery[]) => Promise<void>,
  park: (letters: readonly DeadLetter[]) => Promise<void>,
  consumerName: string,
  retryDelayMs: number,
  onError: (error: unknown, batch: readonly Delivery[]) => void,
  onStatus: (status: ConsumerStatus) => void,
  signal: AbortSignal | undefined,
  accept?: (subject: string) => boolean,
): Promise<void> {
  const parsed = (accept ? messages.filter((msg) => accept(msg.subject)) : messages).map(parseDelivery);
  const batch = parsed.flatMap((p) => (p.ok ? [p.delivery] : []));
  const malformed = parsed.flatMap((p) => (p.ok ? [] : [p]));
  for (const m of malformed) onStatus({ type: 'malformed', streamSequence: m.streamSequence, subject: m.subject, error: m.error });
  // A failed batch is retried here, in order, before anything after it: later events of the
  // same aggregate never overtake it. `working()` keeps JetStream from redelivering meanwhile.
  for (let attempt = 0; !signal?.aborted; attempt++) {
    try {
      if (malformed.length > 0) await park(malformed.map((m) => malformedLetter(consumerName, m, new Date())));
      if (batch.length > 0) await handle(batch);
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

/**
 * How long one pull waits on the server, for every consumer that follows the log live, on a
 * JetStream cluster. The client notices a dead consumer leader (a cluster node killed) only
 * after two missed idle heartbeats, each half of this: with nats.js's default (30 s), a
 * projector whose consumer's leader died sat silent for 30 s while its read model froze, and
 * dispatch's driver feed missed a driver who came online meanwhile (both failed the e2e
 * nats-cluster). 5 s notices in ~5 s, at one idle re-pull per 5 s and a heartbeat per 2.5 s.
 */
export const PULL_EXPIRES_MS = 5_000;

/**
 * The pull options for a consumer: `PULL_EXPIRES_MS` when it runs on a cluster (its info names
 * one); else nats.js's default, as there is no other node to fail over to (a restarted server
 * is pulled from again on reconnect), and the short pull cost the idle system 14.7 → 24 ms of
 * CPU per second (`bench:idle`, 12,000 trips: the projector, saga worker and nats-server).
 */
export function pullExpiryFor(info: { cluster?: { name?: string } }): { expires?: number } {
  return info.cluster?.name ? { expires: PULL_EXPIRES_MS } : {};
}

const IDLE = Symbol('idle');

/** `next`, or `IDLE` if it has not settled within `ms` (`next` is then still pending: await it later). */
async function raceIdle<T>(next: Promise<T>, ms: number): Promise<T | typeof IDLE> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([next, new Promise<typeof IDLE>((resolve) => (timer = setTimeout(() => resolve(IDLE), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
