import type { AggregateType, EventsByAggregate } from '@happyride/domain';

/** The current envelope layout; readers upcast older ones when it changes. */
export const ENVELOPE_SCHEMA_VERSION = 1;

/**
 * One recorded event with everything a reader needs to place it: which aggregate it belongs
 * to, its 1-based position in that aggregate (`version`), when, and which request and which
 * message caused it.
 */
export type EventEnvelope<A extends AggregateType = AggregateType> = {
  [K in A]: EventsByAggregate[K] & {
    eventId: string;
    aggregateType: K;
    aggregateId: string;
    version: number;
    occurredAt: string;
    commandId: string;
    correlationId: string;
    causationId: string;
    schemaVersion: number;
  };
}[A];

/**
 * What one command appends: its events, written atomically as one JetStream message on the
 * aggregate's subject, so a crash never leaves half of a command's events in the log.
 */
export interface Commit<A extends AggregateType = AggregateType> {
  commandId: string;
  aggregateType: A;
  aggregateId: string;
  /** Aggregate version after the last event of this commit. */
  version: number;
  events: EventEnvelope<A>[];
}

/** Metadata the caller gives with an append. */
export interface AppendMetadata {
  commandId: string;
  correlationId: string;
  /** The message (command or event id) that caused this append; defaults to the command id. */
  causationId?: string;
  /** ISO-8601 instant the events occurred. */
  now: string;
  /** W3C trace context, carried in the message headers when present. */
  traceparent?: string;
}

export function envelop<A extends AggregateType>(
  aggregateType: A,
  aggregateId: string,
  events: readonly EventsByAggregate[A][],
  expectedVersion: number,
  meta: AppendMetadata,
): Commit<A> {
  const envelopes = events.map((event, index) => ({
    ...event,
    eventId: `${meta.commandId}:${index}`,
    aggregateType,
    aggregateId,
    version: expectedVersion + index + 1,
    occurredAt: meta.now,
    commandId: meta.commandId,
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? meta.commandId,
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
  })) as EventEnvelope<A>[];
  return { commandId: meta.commandId, aggregateType, aggregateId, version: expectedVersion + events.length, events: envelopes };
}
