import type { AggregateType, EventsByAggregate } from '@happyride/domain';
import { envelop, type AppendMetadata, type Commit } from './envelope.ts';
import { ConcurrencyError, EventLogUnavailableError, historyFromCommits, type AggregateHistory, type AppendResult, type EventStore } from './event-store.ts';
import { headers, isUnavailable, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager, type StoredMsg } from './nats.ts';
import { aggregateSubject, EVENTS_STREAM, HEADER } from './streams.ts';

const READ_BATCH = 512;

/** Where an aggregate's last commit sits: the version it ended at and its stream sequence. */
interface Head {
  version: number;
  seq: number;
  commandId?: string;
}

/**
 * The event store on JetStream. One command's events are one message on
 * `events.<type>.<id>`, published with `Nats-Msg-Id` = command id (deduplication) and
 * `Nats-Expected-Last-Subject-Sequence` (optimistic concurrency per aggregate). The stream
 * sequence of each aggregate's head is remembered from reads and appends, so an append costs
 * one publish; when the head is not known it is looked up with one direct get.
 *
 * With `timeoutMs`, every read and append answers within about that long: when NATS does not
 * (a timeout, no JetStream responder, the connection closed) it throws `EventLogUnavailableError`,
 * with `outcomeUnknown` when the publish itself went out unacknowledged.
 */
export class JetStreamEventStore implements EventStore {
  readonly #heads = new Map<string, Head>();
  readonly #maxCachedHeads: number;
  readonly #timeoutMs: number | undefined;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    { maxCachedHeads = 50_000, timeoutMs }: { maxCachedHeads?: number; timeoutMs?: number } = {},
  ) {
    this.#maxCachedHeads = maxCachedHeads;
    this.#timeoutMs = timeoutMs;
  }

  append<A extends AggregateType>(
    aggregateType: A,
    aggregateId: string,
    events: readonly EventsByAggregate[A][],
    expectedVersion: number,
    meta: AppendMetadata,
  ): Promise<AppendResult> {
    const published = { sent: false };
    return this.#bounded('append', published, this.#append(aggregateType, aggregateId, events, expectedVersion, meta, published));
  }

  read<A extends AggregateType>(aggregateType: A, aggregateId: string): Promise<AggregateHistory<A>> {
    return this.#bounded('read', { sent: false }, this.#read(aggregateType, aggregateId));
  }

  /** Maps NATS being unreachable to `EventLogUnavailableError`, and gives up after `timeoutMs`. */
  async #bounded<T>(operation: 'read' | 'append', published: { sent: boolean }, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline =
      this.#timeoutMs === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new EventLogUnavailableError(operation, published.sent)), this.#timeoutMs);
          });
    try {
      return await (deadline ? Promise.race([work, deadline]) : work);
    } catch (error) {
      if (error instanceof EventLogUnavailableError || !isUnavailable(error)) throw error;
      throw new EventLogUnavailableError(operation, published.sent, { cause: error });
    } finally {
      clearTimeout(timer);
      work.catch(() => {}); // a late failure of work given up on is not unhandled
    }
  }

  async #append<A extends AggregateType>(
    aggregateType: A,
    aggregateId: string,
    events: readonly EventsByAggregate[A][],
    expectedVersion: number,
    meta: AppendMetadata,
    published: { sent: boolean },
  ): Promise<AppendResult> {
    if (events.length === 0) return { version: expectedVersion, duplicate: false };
    const subject = aggregateSubject(aggregateType, aggregateId);
    const head = await this.#head(subject);
    if (head.commandId === meta.commandId) return { version: head.version, duplicate: true };
    if (head.version !== expectedVersion) {
      this.#heads.delete(subject);
      throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion, head.version);
    }
    const commit = envelop(aggregateType, aggregateId, events, expectedVersion, meta);
    const h = headers();
    h.set(HEADER.correlationId, meta.correlationId);
    h.set(HEADER.causationId, meta.causationId ?? meta.commandId);
    h.set(HEADER.eventTypes, events.map((event) => event.type).join(','));
    if (meta.traceparent) h.set(HEADER.traceparent, meta.traceparent);
    try {
      published.sent = true;
      const ack = await this.js.publish(subject, JSON.stringify(commit), {
        msgID: meta.commandId,
        expect: { lastSubjectSequence: head.seq },
        headers: h,
        ...(this.#timeoutMs === undefined ? {} : { timeout: this.#timeoutMs }),
      });
      if (ack.duplicate) {
        // The same command was appended before (a retry): report what is there now.
        this.#heads.delete(subject);
        const current = await this.#head(subject);
        return { version: current.version, duplicate: true };
      }
      this.#remember(subject, { version: commit.version, seq: ack.seq, commandId: commit.commandId });
      return { version: commit.version, duplicate: false };
    } catch (error) {
      this.#heads.delete(subject);
      if (isWrongLastSequence(error)) throw new ConcurrencyError(aggregateType, aggregateId, expectedVersion);
      throw appendNotDecided(error) ?? error;
    }
  }

  async #read<A extends AggregateType>(aggregateType: A, aggregateId: string): Promise<AggregateHistory<A>> {
    const subject = aggregateSubject(aggregateType, aggregateId);
    const commits: Commit<A>[] = [];
    let lastSeq = 0;
    let lastCommandId: string | undefined;
    for (let from = 1; ; ) {
      const batch = await this.#batch(subject, from);
      for (const msg of batch) {
        const commit = msg.json<Commit<A>>();
        commits.push(commit);
        lastSeq = msg.seq;
        lastCommandId = commit.commandId;
      }
      if (batch.length < READ_BATCH) break;
      from = lastSeq + 1;
    }
    const history = historyFromCommits(commits);
    this.#remember(subject, { version: history.version, seq: lastSeq, ...(lastCommandId ? { commandId: lastCommandId } : {}) });
    return history;
  }

  async #batch(subject: string, seq: number): Promise<StoredMsg[]> {
    const messages: StoredMsg[] = [];
    try {
      const iterator = await this.jsm.direct.getBatch(EVENTS_STREAM, { seq, next_by_subj: subject, batch: READ_BATCH });
      for await (const msg of iterator) messages.push(msg);
    } catch (error) {
      if (!isNoMessage(error)) throw error;
    }
    return messages;
  }

  async #head(subject: string): Promise<Head> {
    const cached = this.#heads.get(subject);
    if (cached) return cached;
    const last = await this.jsm.direct.getMessage(EVENTS_STREAM, { last_by_subj: subject }).catch((error: unknown) => {
      if (isNoMessage(error)) return null;
      throw error;
    });
    const commit = last?.json<Commit>();
    const head = last && commit ? { version: commit.version, seq: last.seq, commandId: commit.commandId } : { version: 0, seq: 0 };
    this.#remember(subject, head);
    return head;
  }

  #remember(subject: string, head: Head): void {
    this.#heads.delete(subject);
    this.#heads.set(subject, head);
    if (this.#heads.size > this.#maxCachedHeads) {
      const oldest = this.#heads.keys().next().value;
      if (oldest !== undefined) this.#heads.delete(oldest);
    }
  }
}

/**
 * Two answers of a clustered JetStream to a publish that are no decision about the command,
 * seen while a stream's leader changes; each becomes a retryable `EventLogUnavailableError`
 * (never a 500):
 * - 10158 "duplicate message id is in process": a copy with the same message id (the same
 *   command, retried) is still being proposed, so this command may yet land (outcome unknown);
 * - 10164 "wrong last sequence unknown": the new leader does not know the subject's last
 *   sequence yet, so nothing was stored.
 */
export function appendNotDecided(error: unknown): EventLogUnavailableError | undefined {
  if (!(error instanceof JetStreamApiError)) return undefined;
  if (error.code === MESSAGE_ID_IN_PROCESS) return new EventLogUnavailableError('append', true, { cause: error });
  if (error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown) return new EventLogUnavailableError('append', false, { cause: error });
  return undefined;
}
const MESSAGE_ID_IN_PROCESS = 10158;

/** JetStream's "wrong last sequence" (err_code 10071): the one place it becomes our concurrency error. */
function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence;
}

/** A direct get that found nothing: an API error 10037, or a 404 status on batch reads. */
function isNoMessage(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === JetStreamApiCodes.NoMessageFound;
  return error instanceof Error && (error as Error & { code?: unknown }).code === 404;
}
